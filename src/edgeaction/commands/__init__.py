"""One module per `edgeaction` command.

Each module exposes `add_parser(subparsers)`, which registers the command (its options,
help and `fn=run` default), and `run(args) -> int`. `edgeaction.cli` lists the modules in
`COMMANDS`: adding a command is one module here plus one line there. Option groups that
several commands share live in `common`. Heavy imports happen inside `run`, so building
the parser (`edgeaction --help`) loads no TensorFlow, ONNX Runtime or GStreamer.
"""
