#!/usr/bin/env python3
"""DeepStream 7.1 app for an edgeaction model (written by `edgeaction jetson deepstream`).

uridecodebin per source -> nvstreammux -> nvdspreprocess (config_preprocess.txt: the
contract's T-frame sequences) -> nvinfer (config_infer.txt) -> fakesink. A probe on
nvinfer's src pad reads the output tensor nvinfer attaches to each preprocess ROI
(NVDSINFER_TENSOR_OUTPUT_META in GstNvDsPreProcessBatchMeta.roi_vector[i].roi_user_meta_list)
and prints one JSON line per window, like `edgeaction run`: stream, source, pts, frame,
label, score, top_k, model.

Needs DeepStream's Python bindings (pyds) and PyGObject; not edgeaction.
    python3 deepstream_app.py URI [URI ...]

This file ships inside edgeaction (`edgeaction/jetson/deepstream_app/app.py`); the command
copies it with the settings below rewritten for the model (one `NAME = value` line each).
"""

import argparse
import ctypes
import json
import math
import os
import sys

import gi

gi.require_version("Gst", "1.0")
import pyds  # noqa: E402
from gi.repository import GLib, Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# ---- settings: rewritten by `edgeaction jetson deepstream` ----
# The contract's model name and output tensor.
MODEL = "model"
OUTPUT = "probs"
# False: the model outputs logits, softmax here.
PROBS = True
TOP_K = 3
MUX_WIDTH = 1280
MUX_HEIGHT = 720
# ---- end of settings ----
with open(os.path.join(HERE, "labels.txt"), encoding="utf-8") as f:
    LABELS = [line.rstrip("\n") for line in f if line.strip()]


def scores_of(tensor_meta):
    """The class scores of one ROI's output tensor (layer OUTPUT, else the first)."""
    index = 0
    for i in range(tensor_meta.num_output_layers):
        if pyds.get_nvds_LayerInfo(tensor_meta, i).layerName == OUTPUT:
            index = i
    layer = pyds.get_nvds_LayerInfo(tensor_meta, index)
    ptr = ctypes.cast(pyds.get_ptr(layer.buffer), ctypes.POINTER(ctypes.c_float))
    v = [float(ptr[i]) for i in range(len(LABELS))]  # copy: the buffer is recycled
    if not PROBS:
        m = max(v)
        e = [math.exp(x - m) for x in v]
        total = sum(e)
        v = [x / total for x in e]
    return v


def nxt(node):
    """The next GList node, or None (older pyds raise StopIteration at the end)."""
    try:
        return node.next
    except StopIteration:
        return None


def on_infer_src(pad, info, uris):
    """Buffer probe on nvinfer's src pad: one event per ROI that carries an output tensor."""
    buf = info.get_buffer()
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(buf)) if buf else None
    l_user = batch_meta.batch_user_meta_list if batch_meta else None
    while l_user is not None:
        user = pyds.NvDsUserMeta.cast(l_user.data)
        if user.base_meta.meta_type == pyds.NvDsMetaType.NVDS_PREPROCESS_BATCH_META:
            pre = pyds.GstNvDsPreProcessBatchMeta.cast(user.user_meta_data)
            for roi in pre.roi_vector:
                l_roi = roi.roi_user_meta_list
                while l_roi is not None:
                    um = pyds.NvDsUserMeta.cast(l_roi.data)
                    if um.base_meta.meta_type == pyds.NvDsMetaType.NVDSINFER_TENSOR_OUTPUT_META:
                        emit(scores_of(pyds.NvDsInferTensorMeta.cast(um.user_meta_data)), roi, uris)
                    l_roi = nxt(l_roi)
        l_user = nxt(l_user)
    return Gst.PadProbeReturn.OK


def emit(scores, roi, uris):
    """Print one event JSON line (edgeaction run's fields)."""
    frame = roi.frame_meta
    stream = int(frame.source_id)
    top = sorted(range(len(scores)), key=lambda i: -scores[i])[:TOP_K]
    event = {
        "stream": stream,
        "source": uris[stream] if stream < len(uris) else None,
        "pts": round(frame.buf_pts / 1e9, 4),
        "frame": int(frame.frame_num),
        "label": LABELS[top[0]],
        "score": round(scores[top[0]], 4),
        "top_k": [[LABELS[i], round(scores[i], 4)] for i in top],
        "model": MODEL,
    }
    print(json.dumps(event, separators=(",", ":")), flush=True)


def source_bin(index, uri):
    """A bin around uridecodebin whose ghost src pad targets the decoded video pad."""
    nbin = Gst.Bin.new(f"source-bin-{index:02d}")
    dec = Gst.ElementFactory.make("uridecodebin", f"uri-decode-bin-{index:02d}")
    dec.set_property("uri", uri)

    def on_pad(_dec, pad):
        caps = pad.get_current_caps() or pad.query_caps()
        if caps.get_structure(0).get_name().startswith("video"):
            nbin.get_static_pad("src").set_target(pad)

    dec.connect("pad-added", on_pad)
    nbin.add(dec)
    nbin.add_pad(Gst.GhostPad.new_no_target("src", Gst.PadDirection.SRC))
    return nbin


def make(kind, name, **props):
    """A GStreamer element with `props` (underscores become dashes), or exit with a hint."""
    e = Gst.ElementFactory.make(kind, name)
    if e is None:
        sys.exit(f"cannot create {kind}: is DeepStream installed (gst-inspect-1.0 {kind})?")
    for k, v in props.items():
        e.set_property(k.replace("_", "-"), v)
    return e


def build(uris):
    """The pipeline: a source bin per URI -> nvstreammux -> preprocess -> infer -> fakesink."""
    pipe = Gst.Pipeline()
    mux = make("nvstreammux", "mux", batch_size=len(uris), width=MUX_WIDTH,
               height=MUX_HEIGHT, batched_push_timeout=40000,
               live_source=any(u.startswith("rtsp://") for u in uris))  # fmt: skip
    pre = make("nvdspreprocess", "preprocess",
               config_file=os.path.join(HERE, "config_preprocess.txt"))  # fmt: skip
    infer = make("nvinfer", "infer", config_file_path=os.path.join(HERE, "config_infer.txt"))
    sink = make("fakesink", "sink", sync=False)
    for e in (mux, pre, infer, sink):
        pipe.add(e)
    for i, uri in enumerate(uris):
        sb = source_bin(i, uri)
        pipe.add(sb)
        sb.get_static_pad("src").link(mux.request_pad_simple(f"sink_{i}"))
    mux.link(pre)
    pre.link(infer)
    infer.link(sink)
    infer.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_infer_src, uris)
    return pipe


def main():
    """Run the pipeline on the URIs of the command line until end of stream or Ctrl-C."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("uris", nargs="+", help="file:///..., rtsp://... (one per stream)")
    uris = ap.parse_args().uris
    Gst.init(None)
    pipe = build(uris)
    loop = GLib.MainLoop()
    bus = pipe.get_bus()
    bus.add_signal_watch()

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            print(f"error: {err.message} ({dbg})", file=sys.stderr)
            loop.quit()

    bus.connect("message", on_message)
    pipe.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    finally:
        pipe.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
