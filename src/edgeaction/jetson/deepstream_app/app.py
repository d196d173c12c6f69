#!/usr/bin/env python3
"""DeepStream 7.1 app for an edgeaction model (written by `edgeaction jetson deepstream`).

uridecodebin per source -> nvstreammux -> nvdspreprocess (config_preprocess.txt: the contract's
T-frame sequences) -> nvinfer (config_infer.txt) -> fakesink. A probe on nvinfer's src pad prints one
JSON line per window, like `edgeaction run`: stream, source, pts, frame, label, score, top_k,
model (and roi, left;top;width;height, for a stream whose ROIs config_preprocess.txt names).

Uses only what pyds 1.2.0 (DeepStream 7.1) binds. It has no binding for nvdspreprocess' batch
meta, so the ROI list nvinfer ran on cannot be read; instead:
- with input-tensor-from-meta=1 and output-tensor-meta=1, nvinfer attaches, besides one tensor
  meta per ROI, one NVDSINFER_TENSOR_OUTPUT_META to the batch user-meta list whose host buffer
  holds every row of the batch (gstnvinfer_meta_utils.cpp, attach_tensor_output_meta);
- the rows are the (source, ROI) sequences the sequence library completed on this batch, in
  the order of its std::map key (source_id, then the ROI packed as getKey packs it), at most
  `batch` of them (the last chunk when more complete at once) (custom_sequence_preprocess,
  BufferManager::collectReady/popReady);
- which sequences complete depends only on each source's frame numbers, `stride` and
  `subsample`: Windows replays that bookkeeping from each batch's frame metas, so row j is
  known to be Windows.feed(...)[j]. A batch whose tensor and expected rows disagree is
  reported on stderr and skipped, never attributed to a guessed stream.

Needs DeepStream's Python bindings (pyds) and PyGObject; not edgeaction.
    python3 deepstream_app.py URI [URI ...]

This file ships inside edgeaction (`edgeaction/jetson/deepstream_app/app.py`); the command
copies it with the settings below rewritten for the model (one `NAME = value` line each).
"""

import argparse
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
# config_infer.txt gie-unique-id: the nvinfer whose tensors are read.
GIE_ID = 1
MUX_WIDTH = 1280
MUX_HEIGHT = 720
# ---- end of settings ----
NO_BATCH_TENSOR = (
    " (this app needs DeepStream 7.1's batch-level tensor meta: newer nvinfer"
    " attaches none, and pyds 1.2.0 cannot read the per-ROI ones)"
)
with open(os.path.join(HERE, "labels.txt"), encoding="utf-8") as f:
    LABELS = [line.rstrip("\n") for line in f if line.strip()]


class Windows:
    """Which (source, ROI) sequences the sequence library completes on each batch.

    Replays libnvds_custom_sequence_preprocess.so's counters per (source, ROI): a frame is
    taken when it is more than `subsample` frames after the last one taken (and not before
    the next window's range); a window completes once `frames` frames are held and the last
    one reaches the next ready frame number, which then moves `stride * (subsample + 1)`
    frames on. Rows follow the library's std::map order of its key (see `key`).
    """

    def __init__(self, frames, stride, subsample, batch, rois):
        self.frames, self.stride, self.subsample, self.batch = frames, stride, subsample, batch
        self.rois = rois  # source_id or -1 (any) -> [(left, top, width, height)], [None]: whole
        self.state = {}  # key -> [last frame taken, next ready frame, frames held, item, roi]

    @staticmethod
    def key(source_id, left, top, width, height):
        """The library's SourceKey (getKey in sequence_image_process.cpp), as it computes it."""
        xy0 = int(left) * 10000 + int(top) * 10000 * 10000
        xy1 = int(left + width) * 10000 + int(top * height) * 10000 * 10000
        return (source_id, xy0, xy1)

    def rois_of(self, source_id):
        return self.rois.get(source_id, self.rois.get(-1, []))

    def feed(self, frames):
        """`frames`: (source_id, frame_num, item) of one batch, in batch order.

        Returns (source_id, roi or None for a whole frame, item of the frame that completed
        it) for the batch's rows.
        """
        span = (self.frames - 1) * (self.subsample + 1)
        for source_id, frame_num, item in frames:
            for roi in self.rois_of(source_id):
                st = self.state.setdefault(
                    self.key(source_id, *(roi or (0, 0, 0, 0))),
                    [None, frame_num + span, 0, None, roi],
                )
                last, ready_at, held = st[:3]
                if last is not None and (
                    frame_num <= last + self.subsample or frame_num + span < ready_at
                ):
                    continue
                st[:4] = frame_num, ready_at, min(held + 1, self.frames), item
        done = []
        for key in sorted(self.state):
            st = self.state[key]
            if st[2] < self.frames or st[0] < st[1]:
                continue  # a completed window always holds a frame taken on this batch
            done.append((key[0], st[4], st[3]))
            st[1] = st[0] + self.stride * (self.subsample + 1)
            st[2] -= min(self.stride, st[2])
        if len(done) > self.batch:  # only the newest full-or-partial chunk reaches nvinfer
            done = done[(len(done) - 1) // self.batch * self.batch :]
        return done


def read_preprocess(path):
    """Windows for config_preprocess.txt, as nvdspreprocess and the library read it."""
    kf = GLib.KeyFile.new()
    kf.load_from_file(path, GLib.KeyFileFlags.NONE)
    shape = kf.get_integer_list("property", "network-input-shape")  # batch;C;T;H;W

    def has(group, key):  # PyGObject does not bind g_key_file_has_key
        return kf.has_group(group) and key in kf.get_keys(group)[0]

    def user(key, default):
        return kf.get_integer("user-configs", key) if has("user-configs", key) else default

    rois = {}
    for group in kf.get_groups()[0]:
        if not group.startswith("group-"):
            continue
        on_roi = has(group, "process-on-roi") and kf.get_integer(group, "process-on-roi")
        for sid in kf.get_integer_list(group, "src-ids"):
            if not on_roi:  # the whole frame: one sequence per source
                rois.setdefault(sid, []).append(None)
                continue
            v = kf.get_integer_list(group, f"roi-params-src-{sid}")
            rois.setdefault(sid, []).extend(tuple(v[i : i + 4]) for i in range(0, len(v) - 3, 4))
    return Windows(shape[2], user("stride", 1), user("subsample", 0), shape[0], rois)


def rows_of(tensor_meta, rows):
    """`rows` score vectors from a batch-level tensor meta (layer OUTPUT, else the first)."""
    layer = pyds.get_nvds_LayerInfo(tensor_meta, 0)
    for i in range(tensor_meta.num_output_layers):
        candidate = pyds.get_nvds_LayerInfo(tensor_meta, i)
        if candidate.layerName == OUTPUT:
            layer = candidate
    if layer.dataType != pyds.NvDsInferDataType.FLOAT:
        print(f"warning: output {layer.layerName} is not float32; no events", file=sys.stderr)
        return []
    n = layer.inferDims.numElements  # one row; the batch's rows follow each other
    if n != len(LABELS):
        print(f"warning: output has {n} values, labels.txt {len(LABELS)}", file=sys.stderr)
        return []
    out = []
    for j in range(rows):  # copied now: the buffer is reused for the next batch
        v = [float(pyds.get_detections(layer.buffer, j * n + k)) for k in range(n)]
        if not PROBS:
            m = max(v)
            e = [math.exp(x - m) for x in v]
            v = [x / sum(e) for x in e]
        out.append(v)
    return out


def nxt(node):
    """The next GList node, or None (older pyds raise StopIteration at the end)."""
    try:
        return node.next
    except StopIteration:
        return None


def on_infer_src(pad, info, state):
    windows, uris = state
    buf = info.get_buffer()
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(buf)) if buf else None
    if batch_meta is None:
        return Gst.PadProbeReturn.OK
    frames = []
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        frames.append((int(frame_meta.source_id), int(frame_meta.frame_num), frame_meta))
        l_frame = nxt(l_frame)
    rows = windows.feed(frames)
    tensor = None
    l_user = batch_meta.batch_user_meta_list
    while l_user is not None:
        user_meta = pyds.NvDsUserMeta.cast(l_user.data)
        if user_meta.base_meta.meta_type == pyds.NvDsMetaType.NVDSINFER_TENSOR_OUTPUT_META:
            tensor_meta = pyds.NvDsInferTensorMeta.cast(user_meta.user_meta_data)
            if tensor_meta.unique_id == GIE_ID:
                tensor = tensor_meta
        l_user = nxt(l_user)
    if (tensor is None) != (not rows):
        got = "no" if tensor is None else "a"
        why = NO_BATCH_TENSOR if rows else ""
        print(
            f"warning: {len(rows)} windows expected, {got} tensor from nvinfer; "
            f"events skipped{why}",
            file=sys.stderr,
        )
        return Gst.PadProbeReturn.OK
    for (_, roi, frame_meta), scores in zip(
        rows, rows_of(tensor, len(rows)) if rows else [], strict=False
    ):
        emit(scores, frame_meta, roi, uris)
    return Gst.PadProbeReturn.OK


def emit(scores, frame, roi, uris):
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
    if roi is not None:
        event["roi"] = list(roi)
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
    e = Gst.ElementFactory.make(kind, name)
    if e is None:
        sys.exit(f"cannot create {kind}: is DeepStream installed (gst-inspect-1.0 {kind})?")
    for k, v in props.items():
        e.set_property(k.replace("_", "-"), v)
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("uris", nargs="+", help="file:///..., rtsp://... (one per stream)")
    uris = ap.parse_args().uris
    Gst.init(None)
    windows = read_preprocess(os.path.join(HERE, "config_preprocess.txt"))
    pipe = Gst.Pipeline()
    mux = make(
        "nvstreammux",
        "mux",
        batch_size=len(uris),
        width=MUX_WIDTH,
        height=MUX_HEIGHT,
        batched_push_timeout=40000,
        live_source=any(u.startswith("rtsp://") for u in uris),
    )
    pre = make(
        "nvdspreprocess", "preprocess", config_file=os.path.join(HERE, "config_preprocess.txt")
    )
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
    infer.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_infer_src, (windows, uris))

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
