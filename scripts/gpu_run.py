r"""One device command: train the v2 model, measure the GPU, then the baseline.

A lent GPU is held about 15 minutes (its start included) and runs one command
for at most 10 minutes, so this script does the GPU work of three issues in
ONE command, in priority order, each part with its own time budget:

  1. v2 training (`scripts/train_emoji_v2.sh`, one stage per part):
     `tokenizer`, `transformer`, `selfcond`; each exports when it stops;
  2. `bench`: `benchmarks/bench_gpu.py` with a short budget (ImageNet-256
     architecture: edit latency at batch 1, MFU of a train step, edits/s at
     batch 64/32/8; bf16 + fused attention on, then both off);
  3. `diffusion`: the pixel-diffusion baseline (`train.py
     --config=configs/diffusion.py:emoji`, batch 128) for whatever time is
     left (on the Noto part of the v2 data: the v1 dataset, `noto_subset`).

Budgets: part i gets min(its max, time left to --deadline_s - the minimums of
the later reserved parts); a part whose budget is below its minimum, or whose
input is missing (e.g. no tokenizer export for the transformer), is skipped
with a line saying why. Training stages stop themselves (`time_limit_s` =
budget - --stage_overhead_s: checkpoint + export) and every part is killed at
budget + --grace_s.

Outputs, at most 8 files in --out (the device returns at most 8 files of at
most 16 MiB, 64 MiB in all), each written as soon as it exists, so a run cut
off by the device's limit keeps what it finished:
  run.log        everything printed, appended line by line;
  summary.json   every part: status (ok / time_limit / killed / failed /
                 skipped + reason), budget, wall time, last step, packed files
                 with sha256; rewritten after every event;
  gpu_bench.json bench_gpu.py's results, rewritten after every row;
  pack.000, ... one growing stream of tar archives (one per part: exports,
                 metrics.jsonl, sample grids), cut into parts of --part_mib.
Rejoin and check here with `python scripts/gpu_run.py unpack`.

Actions:
  prepare (here):  data/emoji_sets64.npz -> data/gpu/emoji_sets64_gpu.npz.xz
                   (train split + a fixed --test_keep test subset, no ids, xz
                   -9e), and whether tree + carry fit the 64 MiB that travel;
  run (device):    the parts above;
  unpack (here):   pack.* -> files, each checked against summary.json;
  report (here):   parts, the v2 ship check (tokenizer PSNR on the test
                   split >= 28 dB, tokenizer + selfcond <= 30 MB) and the GPU
                   goals (edit < 20 ms at batch 1, >= 500 edits/s, MFU >= 40%)
                   as markdown tables (+ JSON with --report_out).

  python scripts/gpu_run.py prepare
  python3 scripts/gpu_run.py run --out=$OUT          # on the GPU machine
  python scripts/gpu_run.py unpack --src=DIR --dest=workdirs/gpu_run
  python scripts/gpu_run.py report --src=DIR --dest=workdirs/gpu_run

The device command, carry list and what to do with the outputs:
docs/benchmarks.md, "GPU: one prepared command". CPU test with the tiny
presets: tests/test_gpu_run.py.
"""

from __future__ import annotations

import dataclasses
import datetime
import glob
import hashlib
import io
import json
import lzma
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from typing import Any, Callable, Sequence

from absl import app
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
# What the device returns from $OUT (its README, "Limits").
OUT_MAX_FILES, OUT_MAX_FILE_MIB, OUT_MAX_MIB, TRAVEL_MAX_MIB = 8, 16, 64, 64
FIXED_OUT_FILES = ("run.log", "summary.json", "gpu_bench.json")
V2_STAGES = ("tokenizer", "transformer", "selfcond")
PART_NAMES = V2_STAGES + ("bench", "diffusion")
NOTO_LABELS = 9  # maskgit.data.emoji_sets: Noto labels are 0..8 (= v1's).
BENCH_ARGS = ("--sections=edit_latency,train,edit_throughput "
              "--combos=bf16p:auto,f32:reference --fractions=0.1 "
              "--modes=patch_local,full --edit_batches=64,32,8 "
              "--train_recipes=transformer --train_attention=auto "
              "--train_batches=256 --repeats=5 --train_steps=10")
DIFFUSION_ARGS = "--config.batch_size=128 --config.num_steps=20000"


@dataclasses.dataclass(frozen=True)
class Budget:
  """Seconds for one part."""
  max_s: float  # At most this much.
  min_s: float  # Skipped when less is left for it.
  reserved: bool = True  # Earlier parts leave min_s for it.


# Sized for --deadline_s=540 (a 600 s device command): the v2 schedules'
# planned times (scripts/train_emoji_v2.sh: ~160, ~220, ~80 s + start-up)
# cut to leave the bench its 90 s; the diffusion run only gets time that the
# others leave (none if they all use their max).
BUDGETS = {"tokenizer": Budget(180, 60), "transformer": Budget(175, 60),
           "selfcond": Budget(85, 40), "bench": Budget(90, 45),
           "diffusion": Budget(float("inf"), 90, reserved=False)}

_OUT = flags.DEFINE_string("out", os.environ.get("OUT", ""),
                           "run: output folder (default $OUT).")
_WORK = flags.DEFINE_string("work", "/tmp/gpu_run",
                            "run: workdirs, unpacked data, installed wheels.")
_DATA = flags.DEFINE_string(
    "data", "data/gpu/emoji_sets64_gpu.npz.xz",
    "run: the v2 dataset (.npz, or .npz.xz written by `prepare`).")
_WHEELS = flags.DEFINE_string(
    "wheels", ".wheels", "run: folder of wheels to install first (packages "
    "the device lacks: ml_collections); '' or missing = none.")
_DEADLINE = flags.DEFINE_float("deadline_s", 540.0,
                               "run: every part ends by then (+ grace).")
_PARTS = flags.DEFINE_list("parts", list(PART_NAMES),
                           "run: parts to run, in this order.")
_BUDGETS = flags.DEFINE_list(
    "budgets", [], "run: overrides NAME=MAX:MIN (seconds), e.g. bench=60:30.")
_OVERHEAD = flags.DEFINE_float(
    "stage_overhead_s", 30.0, "run: a training part's start-up + export time "
    "(its time_limit_s = budget - this).")
_GRACE = flags.DEFINE_float("grace_s", 10.0,
                            "run: a part is killed at budget + this.")
_V2_PRESET = flags.DEFINE_string(
    "v2_preset", "emoji_v2", "run: training preset of the v2 stages; "
    "report: their model.")
_BENCH_ARGS = flags.DEFINE_string("bench_args", BENCH_ARGS,
                                  "run: bench_gpu.py flags.")
_BENCH_MARGIN = flags.DEFINE_float(
    "bench_margin_s", 30.0, "run: bench_gpu.py starts no new setting after "
    "budget - this (one setting, compile included, fits in it).")
_DIFF_PRESET = flags.DEFINE_string("diffusion_preset", "emoji",
                                   "run: configs/diffusion.py preset.")
_DIFF_ARGS = flags.DEFINE_string("diffusion_args", DIFFUSION_ARGS,
                                 "run: extra train.py flags of the baseline.")
_PART_MIB = flags.DEFINE_float("part_mib", 15.0, "run: pack part size (MiB).")
_PACK_MIB = flags.DEFINE_float(
    "pack_mib", 60.0, "run: pack size cap (MiB); files beyond it are left "
    "out (listed in summary.json).")
_NPZ = flags.DEFINE_string(
    "npz", "data/emoji_sets64.npz", "prepare: the v2 dataset "
    "(maskgit.data.arrays); report: its test split gives the PSNR.")
_DATA_DIR = flags.DEFINE_string("data_dir", "data/gpu",
                                "prepare: output folder (git-ignored).")
_DEST = flags.DEFINE_string("dest", "workdirs/gpu_run",
                            "unpack: output folder; report: unpacked files.")
_TEST_KEEP = flags.DEFINE_integer(
    "test_keep", 512, "prepare: test images kept (a fixed random subset; "
    "eval during training reads them).")
_XZ_PRESET = flags.DEFINE_integer("xz_preset", 9, "prepare: xz level (-e).")
_CARRY = flags.DEFINE_list("carry", ["data/gpu", ".wheels"],
                           "prepare: paths the device call carries.")
_SRC = flags.DEFINE_string("src", "", "unpack, report: the device's files "
                           "(summary.json, gpu_bench.json, pack.*).")
_REPORT_OUT = flags.DEFINE_string("report_out", "",
                                  "report: also write the report as JSON.")
ACTIONS = ("prepare", "run", "unpack", "report")


# ---------------------------------------------------------------- budgets --


def parse_budgets(overrides: Sequence[str]) -> dict[str, Budget]:
  """BUDGETS with NAME=MAX:MIN overrides ('inf' allowed for MAX)."""
  out = dict(BUDGETS)
  for item in overrides:
    name, _, spec = item.partition("=")
    lo_hi = spec.split(":")
    if name not in out or len(lo_hi) != 2:
      raise app.UsageError(f"Bad --budgets item {item!r}: want NAME=MAX:MIN "
                           f"with NAME in {sorted(out)}.")
    out[name] = dataclasses.replace(out[name], max_s=float(lo_hi[0]),
                                    min_s=float(lo_hi[1]))
  return out


def part_budget(name: str, later: Sequence[str], left_s: float,
                budgets: dict[str, Budget]) -> float:
  """Seconds for part `name`: its max, less what the later parts reserve."""
  keep = sum(budgets[n].min_s for n in later if budgets[n].reserved)
  return min(budgets[name].max_s, left_s - keep)


# ------------------------------------------------------------------ pack --


def _sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(MIB), b""):
      h.update(block)
  return h.hexdigest()


def _tar_bytes(sizes: Sequence[int]) -> int:
  """Upper bound of a tar archive's size holding files of `sizes`."""
  body = sum(512 + -(-s // 512) * 512 for s in sizes) + 1024
  return -(-body // tarfile.RECORDSIZE) * tarfile.RECORDSIZE


class Pack:
  """Tar archives appended to one byte stream cut into files OUT/pack.NNN.

  Each `add` writes one complete archive and syncs it, so the stream always
  ends in whole archives except while a write is under way; `unpack` reads
  the concatenation (a cut-off last archive loses only its own files).
  """

  def __init__(self, out_dir: str, part_bytes: int, max_bytes: int,
               max_parts: int):
    self.out_dir, self.part_bytes = out_dir, part_bytes
    self.max_bytes = min(max_bytes, part_bytes * max_parts)
    self.size = 0
    self.parts: list[str] = []

  def _write(self, data: bytes) -> None:
    while data:
      room = self.part_bytes - self.size % self.part_bytes
      if self.size % self.part_bytes == 0:
        self.parts.append(f"pack.{len(self.parts):03d}")
      with open(os.path.join(self.out_dir, self.parts[-1]), "ab") as f:
        f.write(data[:room])
        f.flush()
        os.fsync(f.fileno())
      self.size += min(room, len(data))
      data = data[room:]

  def add(self, files: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Packs [(name in the pack, path)]; returns one record per file.

    Files that would take the pack past its cap are left out (record with
    'left_out'), later ones may still fit.
    """
    records, chosen = [], []
    for name, path in files:
      size = os.path.getsize(path)
      if self.size + _tar_bytes([s for _, _, s in chosen] + [size]) > (
          self.max_bytes):
        records.append(dict(name=name, bytes=size, left_out="pack cap "
                            f"{self.max_bytes / MIB:.0f} MiB"))
        continue
      chosen.append((name, path, size))
    if chosen:
      buf = io.BytesIO()
      with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, path, _ in chosen:
          t.add(path, arcname=name, recursive=False)
      self._write(buf.getvalue())
      records += [dict(name=name, bytes=size, sha256=_sha256(path))
                  for name, path, size in chosen]
    return records


def unpack(src: str, dest: str) -> list[dict[str, Any]]:
  """Extracts pack.* of `src` into `dest`, checked against summary.json.

  Returns one row per file in the summary's records (plus any unlisted
  member): name, status ('ok', 'missing', 'sha256 mismatch', 'unlisted').
  """
  parts = sorted(glob.glob(os.path.join(src, "pack.[0-9][0-9][0-9]")))
  stream = io.BytesIO(b"".join(open(p, "rb").read() for p in parts))
  got: dict[str, str] = {}
  os.makedirs(dest, exist_ok=True)
  try:
    with tarfile.open(fileobj=stream, mode="r:", ignore_zeros=True) as t:
      for m in t:
        if not m.isfile():
          continue
        norm = os.path.normpath(m.name)
        if os.path.isabs(norm) or norm.startswith(".."):
          raise ValueError(f"Unsafe name {m.name!r} in the pack.")
        data = t.extractfile(m).read()
        path = os.path.join(dest, norm)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
          f.write(data)
        got[m.name] = hashlib.sha256(data).hexdigest()
  except (tarfile.ReadError, EOFError):
    pass  # A cut-off last archive: its files are reported missing.
  with open(os.path.join(src, "summary.json")) as f:
    summary = json.load(f)
  rows = []
  for part in summary["parts"]:
    for rec in part.get("files", []):
      if "sha256" not in rec:
        continue
      name = rec["name"]
      status = ("missing" if name not in got else "ok" if got.pop(name) ==
                rec["sha256"] else "sha256 mismatch")
      rows.append(dict(name=name, bytes=rec["bytes"], status=status))
  rows += [dict(name=n, status="unlisted") for n in sorted(got)]
  return rows


# ------------------------------------------------------------------- data --


def unpack_data(path: str, work: str) -> str:
  """The .npz to train on: `path` itself, or `path` (.xz) decompressed.

  A `path`.sha256 file (written by `prepare`) is checked.
  """
  if not path.endswith(".xz"):
    return path
  out = os.path.join(work, os.path.basename(path)[:-len(".xz")])
  h = hashlib.sha256()
  with lzma.open(path) as src, open(out + ".tmp", "wb") as dst:
    for block in iter(lambda: src.read(16 * MIB), b""):
      h.update(block)
      dst.write(block)
  want_file = path + ".sha256"
  if os.path.exists(want_file):
    want = open(want_file).read().split()[0]
    if want != h.hexdigest():
      os.remove(out + ".tmp")
      raise ValueError(f"{path} decompresses to sha256 {h.hexdigest()}, "
                       f"{want_file} says {want}.")
  os.replace(out + ".tmp", out)
  return out


def noto_subset(npz: str, out: str) -> dict[str, int]:
  """Writes the Noto part (labels < 9) of the v2 data: the v1 dataset.

  Checked on 2026-12-05: this subset of data/emoji_sets64.npz holds every
  image of data/emoji64.npz (v1, the diffusion baseline's data) with the same
  pixels, label and split, in another order.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  arrays, counts = {}, {}
  with np.load(npz) as f:
    for key in f.files:
      if key.endswith("_image"):
        split = key[:-len("_image")]
        keep = np.asarray(f[f"{split}_label"]) < NOTO_LABELS
        arrays[key] = np.asarray(f[key])[keep]
        arrays[f"{split}_label"] = np.asarray(f[f"{split}_label"])[keep]
        counts[split] = int(keep.sum())
  np.savez(out, **arrays)
  return counts


def prepare(npz: str, dest: str, test_keep: int, xz_preset: int
            ) -> tuple[str, dict[str, int]]:
  """Writes dest/<name>_gpu.npz.xz (+ .sha256): train + test subset, no ids.

  The test subset is a fixed random choice (numpy default_rng(0)) of
  `test_keep` images, in file order; eval during training reads it.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  os.makedirs(dest, exist_ok=True)
  stem = os.path.basename(npz)[:-len(".npz")]
  raw = os.path.join(dest, f"{stem}_gpu.npz")
  arrays, counts = {}, {}
  with np.load(npz) as f:
    for key in f.files:
      if not key.endswith("_image"):
        continue
      split = key[:-len("_image")]
      images, labels = f[key], f[f"{split}_label"]
      if split == "test" and test_keep < len(images):
        idx = np.sort(np.random.default_rng(0).choice(
            len(images), test_keep, replace=False))
        images, labels = images[idx], labels[idx]
      arrays[key], arrays[f"{split}_label"] = images, labels
      counts[split] = len(images)
  np.savez(raw, **arrays)
  with open(raw, "rb") as src, lzma.open(
      raw + ".xz", "wb", preset=xz_preset | lzma.PRESET_EXTREME) as dst:
    shutil.copyfileobj(src, dst, 16 * MIB)
  with open(raw + ".xz.sha256", "w") as f:
    f.write(f"{_sha256(raw)}  {os.path.basename(raw)}\n")
  os.remove(raw)
  return raw + ".xz", counts


def travel_bytes(root: str, carry: Sequence[str]) -> tuple[int, int]:
  """(bytes of tracked + untracked-not-ignored files, bytes of `carry`)."""
  names = subprocess.run(
      ["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root,
      check=True, capture_output=True).stdout.decode().split("\0")
  tree = sum(os.path.getsize(os.path.join(root, n)) for n in names
             if n and os.path.isfile(os.path.join(root, n)))
  carried = 0
  for c in carry:
    p = os.path.join(root, c)
    if os.path.isfile(p):
      carried += os.path.getsize(p)
    for d, _, fs in os.walk(p):
      carried += sum(os.path.getsize(os.path.join(d, x)) for x in fs)
  return tree, carried


# -------------------------------------------------------------------- run --


def _session_pids(sid: int) -> list[int]:
  """Processes of session `sid` (Linux /proc)."""
  pids = []
  for d in os.listdir("/proc"):
    if not d.isdigit():
      continue
    try:
      with open(f"/proc/{d}/stat") as f:
        stat = f.read()
    except OSError:
      continue
    if int(stat[stat.rfind(")") + 2:].split()[3]) == sid:
      pids.append(int(d))
  return pids


def _signal_session(sid: int, sig: int) -> None:
  for pid in _session_pids(sid):
    try:
      os.kill(pid, sig)
    except ProcessLookupError:
      pass


@dataclasses.dataclass
class Part:
  """One budgeted step of the run."""
  name: str
  command: Callable[[float], list[str]]  # Budget (s) -> argv (cwd ROOT).
  needs: Sequence[str] = ()  # Files that must exist before it starts.
  outputs: Callable[[], list[tuple[str, str]]] = list  # (pack name, path).
  env: Callable[[float], dict[str, str]] = lambda budget: {}  # Extra env.
  # In-process set-up (timed, in the budget); returns a line for the log.
  before: Callable[[], str] | None = None


_FINISHED = re.compile(rb"Finished at step (\d+) \((\w+)\)")
_STATUS = {b"done": "ok", b"time_limit": "time_limit", b"signal": "killed"}


class Runner:
  """Runs parts within one deadline; logs, summary and pack in `out`."""

  def __init__(self, out: str, deadline_s: float, budgets: dict[str, Budget],
               grace_s: float, pack: Pack):
    self.out, self.deadline_s = out, deadline_s
    self.budgets, self.grace_s, self.pack = budgets, grace_s, pack
    self.t0 = time.monotonic()
    self.lock = threading.Lock()
    self.log = open(os.path.join(out, "run.log"), "ab")
    self.summary: dict[str, Any] = dict(
        what="scripts/gpu_run.py run: parts in priority order, see its "
        "docstring", argv=sys.argv,
        started_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        deadline_s=deadline_s,
        budgets={k: dict(max_s=None if v.max_s == float("inf") else v.max_s,
                         min_s=v.min_s, reserved=v.reserved)
                 for k, v in budgets.items()},
        env={}, parts=[], pack=[], done=False)

  def elapsed(self) -> float:
    return time.monotonic() - self.t0

  def _echo(self, data: bytes) -> None:
    with self.lock:
      sys.stdout.buffer.write(data)
      sys.stdout.flush()
      self.log.write(data)
      self.log.flush()

  def say(self, msg: str) -> None:
    self._echo(f"[gpu_run {self.elapsed():6.1f}s] {msg}\n".encode())

  def write_summary(self) -> None:
    self.summary["elapsed_s"] = round(self.elapsed(), 1)
    self.summary["pack"] = list(self.pack.parts)
    path = os.path.join(self.out, "summary.json")
    with open(path + ".tmp", "w") as f:
      json.dump(self.summary, f, indent=1)
    os.replace(path + ".tmp", path)

  def _record(self, **row) -> dict[str, Any]:
    self.summary["parts"].append(row)
    self.write_summary()
    return row

  def _run_command(self, argv: list[str], env: dict[str, str],
                   limit_s: float) -> tuple[int | None, bytes]:
    """(exit code or None if killed at `limit_s`, all output)."""
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    chunks: list[bytes] = []

    def pump():
      for line in proc.stdout:
        chunks.append(line)
        self._echo(line)
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
      rc = proc.wait(timeout=max(limit_s, 1.0))
    except subprocess.TimeoutExpired:
      self.say(f"budget spent: SIGTERM to pid {proc.pid}'s session")
      _signal_session(proc.pid, signal.SIGTERM)
      try:
        proc.wait(timeout=10)
      except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
      _signal_session(proc.pid, signal.SIGKILL)  # Its children, if any.
      rc = None
    reader.join(timeout=10)
    return rc, b"".join(chunks)

  def run(self, parts: Sequence[Part]) -> None:
    names = [p.name for p in parts]
    for i, part in enumerate(parts):
      left = self.deadline_s - self.elapsed()
      budget = part_budget(part.name, names[i + 1:], left, self.budgets)
      base = dict(name=part.name, budget_s=round(budget, 1))
      missing = [n for n in part.needs if not os.path.exists(n)]
      if budget < self.budgets[part.name].min_s:
        self.say(f"=== {part.name}: skipped: {budget:.0f} s for it (of "
                 f"{left:.0f} s left) < its minimum "
                 f"{self.budgets[part.name].min_s:.0f} s")
        self._record(**base, status="skipped", reason="no time")
        continue
      if missing:
        self.say(f"=== {part.name}: skipped: missing {missing}")
        self._record(**base, status="skipped", reason=f"missing {missing}")
        continue
      self.say(f"=== {part.name}: budget {budget:.0f} s (left {left:.0f} s)")
      t = time.monotonic()
      status, rc, step, out = "failed", None, None, b""
      try:
        if part.before is not None:
          self.say(part.before())
        argv = part.command(budget)
        self.say("$ " + " ".join(shlex.quote(a) for a in argv))
        env = dict(os.environ, PYTHONUNBUFFERED="1", **part.env(budget))
        rc, out = self._run_command(
            argv, env, budget + self.grace_s - (time.monotonic() - t))
        status = "killed" if rc is None else "ok" if rc == 0 else "failed"
      except (OSError, ValueError) as e:  # Set-up failed (bad data, ...).
        self.say(f"{part.name}: {type(e).__name__}: {e}")
      found = _FINISHED.findall(out)
      if found:
        step = int(found[-1][0])
        if status == "ok":
          status = _STATUS.get(found[-1][1], status)
      files = self.pack.add([(n, p) for n, p in part.outputs()
                             if os.path.isfile(p)])
      wall = time.monotonic() - t
      self.say(f"=== {part.name}: {status} in {wall:.0f} s (rc {rc}"
               + (f", step {step}" if step is not None else "") +
               f"); packed {sum('sha256' in f for f in files)} files")
      self._record(**base, status=status, rc=rc, step=step,
                   wall_s=round(wall, 1), files=files)
    self.summary["done"] = True
    self.write_summary()
    self.say(f"done in {self.elapsed():.0f} s; files in {self.out}: "
             f"{sorted(os.listdir(self.out))}")


def _device_env() -> dict[str, Any]:
  env = dict(python=sys.version.split()[0], cpus=os.cpu_count())
  if shutil.which("nvidia-smi"):
    q = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
         "--format=csv,noheader"], capture_output=True, text=True,
        check=False)
    env["nvidia_smi"] = q.stdout.strip() or q.stderr.strip()
  return env


def _install_wheels(wheels: str, work: str) -> str | None:
  """pip-installs wheels/*.whl into work/site; returns that folder."""
  found = sorted(glob.glob(os.path.join(wheels, "*.whl"))) if wheels else []
  if not found:
    return None
  site = os.path.join(work, "site")
  subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index",
                  "--no-deps", "--no-compile", "--upgrade", "--target", site,
                  *found], check=True)
  return site


def _files(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
  """[(pack name, path)] for the given pairs, globbing '*' in paths."""
  out = []
  for name, pattern in pairs:
    for p in sorted(glob.glob(pattern)):
      out.append((name.replace("*", os.path.basename(p)), p))
  return out


def build_parts(out: str, work: str, npz: str) -> list[Part]:
  """The five parts, in priority order (see the module docstring)."""
  v2_work = os.path.join(work, "v2")
  dest = os.path.join(v2_work, "export")
  overhead = _OVERHEAD.value
  limit_var = dict(tokenizer="L_TOK", transformer="L_TR", selfcond="L_SC")

  def v2(stage: str) -> Part:
    # The script's own knobs (N_TOK, BATCH, PROCS, EXTRA, ...) pass through
    # from the environment; the stage's time limit and deadline come from
    # its budget.
    def env(budget: float) -> dict[str, str]:
      return {"STAGES": stage, "NPZ": npz, "WORK": v2_work, "DEST": dest,
              "PY": sys.executable, "PRESET": _V2_PRESET.value,
              limit_var[stage]: str(int(max(5, budget - overhead))),
              # Its hard timeout (at the limit + SLACK_S) falls at the
              # budget: start-up + export get the overhead, not the
              # script's default 12 s (a stage killed by it has no export).
              "SLACK_S": str(int(overhead)), "DEADLINE_S": str(int(budget))}
    needs = [npz] + {"tokenizer": [],
                     "transformer": [f"{dest}/tokenizer.msgpack"],
                     "selfcond": [f"{dest}/tokenizer.msgpack",
                                  f"{dest}/transformer.msgpack"]}[stage]
    return Part(
        stage, lambda budget: ["bash", "scripts/train_emoji_v2.sh"], needs,
        lambda: _files([
            (f"v2/{stage}.msgpack", f"{dest}/{stage}.msgpack"),
            (f"v2/{stage}_metrics.jsonl", f"{v2_work}/{stage}/metrics.jsonl"),
            (f"v2/{stage}_samples/*", f"{v2_work}/{stage}/samples/*")]),
        env=env)

  def bench(budget: float) -> list[str]:
    return [sys.executable, "benchmarks/bench_gpu.py",
            f"--out={os.path.join(out, 'gpu_bench.json')}",
            f"--time_budget_s={max(1.0, budget - _BENCH_MARGIN.value):.0f}",
            *shlex.split(_BENCH_ARGS.value)]

  noto = os.path.join(work, "emoji64_from_sets.npz")
  diff_work = os.path.join(work, "diffusion")

  def diffusion(budget: float) -> list[str]:
    return [sys.executable, "train.py",
            f"--config=configs/diffusion.py:{_DIFF_PRESET.value}",
            f"--workdir={diff_work}", "--config.data.source=npz",
            f"--config.data.dataset={noto}",
            f"--config.time_limit_s={max(5, budget - overhead):.0f}",
            *shlex.split(_DIFF_ARGS.value)]

  def make_noto() -> str:
    return f"Noto part of {npz} -> {noto}: {noto_subset(npz, noto)}"

  return [v2(s) for s in V2_STAGES] + [
      Part("bench", bench),
      Part("diffusion", diffusion, [npz], lambda: _files([
          ("diffusion/diffusion.msgpack", f"{diff_work}/export/*.msgpack"),
          ("diffusion/metrics.jsonl", f"{diff_work}/metrics.jsonl"),
          ("diffusion/samples/*", f"{diff_work}/samples/*")]),
           before=make_noto)]


def run_main() -> int:
  out, work = _OUT.value, _WORK.value
  if not out:
    raise app.UsageError("run needs --out (or $OUT).")
  unknown = sorted(set(_PARTS.value) - set(PART_NAMES))
  if unknown:
    raise app.UsageError(f"Unknown parts {unknown}; choose from "
                         f"{list(PART_NAMES)}.")
  budgets = parse_budgets(_BUDGETS.value)
  os.makedirs(out, exist_ok=True)
  os.makedirs(work, exist_ok=True)
  pack = Pack(out, int(_PART_MIB.value * MIB), int(_PACK_MIB.value * MIB),
              OUT_MAX_FILES - len(FIXED_OUT_FILES))
  runner = Runner(out, _DEADLINE.value, budgets, _GRACE.value, pack)
  runner.summary["env"] = _device_env()
  runner.say(f"start: {runner.summary['env']}")
  try:
    site = _install_wheels(_WHEELS.value, work)
  except subprocess.CalledProcessError as e:
    site = None
    runner.say(f"wheels: pip failed ({e}); going on without them")
  paths = [ROOT] + ([site] if site else []) + [
      p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
  os.environ["PYTHONPATH"] = os.pathsep.join(paths)
  npz = os.path.join(work, "missing.npz")
  if os.path.exists(_DATA.value):
    try:
      npz = unpack_data(_DATA.value, work)
      runner.say(f"data: {npz} ({os.path.getsize(npz) / MIB:.1f} MiB)")
    except (OSError, ValueError, lzma.LZMAError) as e:
      runner.say(f"data: {type(e).__name__}: {e}")
  else:
    runner.say(f"data: {_DATA.value} not found; parts that need it skip")
  runner.summary["data"] = npz
  parts = {p.name: p for p in build_parts(out, work, npz)}
  runner.run([parts[n] for n in _PARTS.value])
  return int(any(p["status"] == "failed" for p in runner.summary["parts"]))


# ----------------------------------------------------------------- report --

# Issue 15's goals (ImageNet-256 architecture, one GPU) and issue 13's ship
# rule for the v2 weights.
EDIT_LATENCY_GOAL_S, EDITS_PER_S_GOAL, MFU_GOAL = 0.020, 500.0, 0.40
PSNR_GOAL_DB, WEIGHTS_CAP_BYTES = 28.0, 30_000_000


def _best(rows: Sequence[dict], key: str, pick: Callable) -> dict | None:
  rows = [r for r in rows if r.get(key) is not None]
  return pick(rows, key=lambda r: r[key]) if rows else None


def _setting(row: dict) -> str:
  keys = ("variant", "attention", "recipe", "mode", "stroke_fraction",
          "batch")
  return " ".join(f"{k}={row[k]}" for k in keys if k in row)


def bench_goals(bench: dict) -> list[dict]:
  """The three GPU goals, read off bench_gpu.py's results.

  Returns [{goal, target, measured, setting, met}]: the fastest batch-1 edit
  (wall median of `Editor.edit`), the most edits/s, the highest train MFU;
  measured None (met None) where the run has no such row.
  """
  sec = bench.get("sections", {})
  out = []
  for goal, target, key, rows, pick, met in (
      ("edit latency, batch 1 (s)", f"< {EDIT_LATENCY_GOAL_S}", "median_s",
       sec.get("edit_latency", []), min, lambda v: v < EDIT_LATENCY_GOAL_S),
      ("edits/s", f">= {EDITS_PER_S_GOAL:.0f}", "edits_per_s",
       sec.get("edit_throughput", []), max, lambda v: v >= EDITS_PER_S_GOAL),
      ("train MFU", f">= {MFU_GOAL}", "mfu", sec.get("train", []), max,
       lambda v: v >= MFU_GOAL)):
    row = _best(rows, key, pick)
    out.append(dict(goal=goal, target=target,
                    measured=None if row is None else row[key],
                    setting=None if row is None else _setting(row),
                    met=None if row is None else bool(met(row[key]))))
  return out


def v2_check(dest: str, npz: str, preset: str) -> dict[str, Any]:
  """Tokenizer PSNR on the test split and the shipped weights' size.

  Ship rule (issue 13): PSNR >= 28 dB on the test split and tokenizer +
  selfcond msgpack <= 30 MB.
  """
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from configs import models  # pylint: disable=g-import-not-at-top
  from maskgit import checkpoints  # pylint: disable=g-import-not-at-top
  from maskgit import evaluate  # pylint: disable=g-import-not-at-top
  from maskgit import model as model_lib  # pylint: disable=g-import-not-at-top
  from maskgit.nets import vqgan  # pylint: disable=g-import-not-at-top
  tok = os.path.join(dest, "v2", "tokenizer.msgpack")
  out: dict[str, Any] = dict(tokenizer=tok, preset=preset)
  if not os.path.isfile(tok):
    return dict(out, error="no tokenizer export")
  config = models.get_config(preset)
  m = model_lib.MaskGIT.random(config, 0)  # Only its tokenizer is used.
  m.tokenizer_params = jax.device_put(checkpoints.load_tokenizer(
      tok, vqgan.TokenizerConfig.from_config(config.tokenizer)))
  with np.load(npz) as f:
    images = f["test_image"].astype(np.float32) / 255.0
    labels = f["test_label"]
  psnr = evaluate.reconstruction_psnr(m, images)
  noto = labels < NOTO_LABELS
  shipped = [os.path.join(dest, "v2", f"{n}.msgpack")
             for n in ("tokenizer", "selfcond")]
  size = sum(os.path.getsize(p) for p in shipped if os.path.isfile(p))
  out.update(test_images=int(len(psnr)), psnr_db=float(psnr.mean()),
             psnr_noto_db=float(psnr[noto].mean()) if noto.any() else None,
             shipped_bytes=size,
             has_selfcond=os.path.isfile(shipped[1]))
  out["ship"] = bool(out["psnr_db"] >= PSNR_GOAL_DB and out["has_selfcond"]
                     and size <= WEIGHTS_CAP_BYTES)
  return out


def report(src: str, dest: str, npz: str, preset: str) -> dict[str, Any]:
  """What a device run gave: parts, v2 ship check, GPU goals (markdown)."""
  with open(os.path.join(src, "summary.json")) as f:
    summary = json.load(f)
  bench_path = os.path.join(src, "gpu_bench.json")
  bench = json.load(open(bench_path)) if os.path.exists(bench_path) else {}
  res = dict(env=summary.get("env"), bench_env=bench.get("env"),
             parts=[{k: p.get(k) for k in ("name", "status", "reason",
                                             "budget_s", "wall_s", "step")}
                    for p in summary["parts"]],
             goals=bench_goals(bench))
  if npz and os.path.isfile(npz):
    res["v2"] = v2_check(dest, npz, preset)
  benv = bench.get("env", {})
  lines = [f"device: {benv.get('device_kind')} ({benv.get('backend')}, jax "
           f"{benv.get('jax')}); nvidia-smi: "
           f"{(summary.get('env') or {}).get('nvidia_smi')}; run started "
           f"{summary.get('started_utc')}", "",
           "| part | status | budget s | wall s | last step |",
           "|---|---|---|---|---|"]
  lines += [f"| {p['name']} | {p['status']}"
            f"{' (' + p['reason'] + ')' if p.get('reason') else ''} | "
            f"{p['budget_s']} | {p.get('wall_s')} | {p.get('step')} |"
            for p in res["parts"]]
  lines += ["", "| goal | target | measured | setting | met |",
            "|---|---|---|---|---|"]
  fmt = lambda v: "-" if v is None else f"{v:.4g}"
  lines += [f"| {g['goal']} | {g['target']} | {fmt(g['measured'])} | "
            f"{g['setting']} | {g['met']} |" for g in res["goals"]]
  if "v2" in res:
    lines += ["", f"v2: {json.dumps(res['v2'])}"]
  res["markdown"] = "\n".join(lines)
  return res


def main(argv: Sequence[str]) -> int:
  if len(argv) != 2 or argv[1] not in ACTIONS:
    raise app.UsageError(f"Usage: gpu_run.py {'|'.join(ACTIONS)} [--flags]")
  action = argv[1]
  if action == "run":
    return run_main()
  if action == "report":
    if not _SRC.value:
      raise app.UsageError("report needs --src (the device's files).")
    res = report(_SRC.value, _DEST.value, _NPZ.value, _V2_PRESET.value)
    print(res["markdown"])
    if _REPORT_OUT.value:
      with open(_REPORT_OUT.value, "w") as f:
        json.dump(res, f, indent=1)
      print(f"Wrote {_REPORT_OUT.value}.")
    return 0
  if action == "prepare":
    if not os.path.isfile(_NPZ.value):
      raise app.UsageError(f"No dataset at {_NPZ.value}; build it first "
                           "(docs/model_card.md, 'v2 plan').")
    path, counts = prepare(_NPZ.value, _DATA_DIR.value, _TEST_KEEP.value,
                           _XZ_PRESET.value)
    tree, carried = travel_bytes(ROOT, _CARRY.value)
    total = (tree + carried) / MIB
    print(f"Wrote {path}: {os.path.getsize(path) / MIB:.2f} MiB ({counts}).\n"
          f"Travels: tree {tree / MIB:.2f} MiB + carry {_CARRY.value} "
          f"{carried / MIB:.2f} MiB = {total:.2f} MiB of {TRAVEL_MAX_MIB}.")
    if total > TRAVEL_MAX_MIB:
      print("Too large for one device call: lower --test_keep or carry "
            "less.", file=sys.stderr)
      return 1
    return 0
  if not _SRC.value:
    raise app.UsageError("unpack needs --src (the folder holding pack.*).")
  rows = unpack(_SRC.value, _DEST.value)
  for r in rows:
    print(f"{r['status']:>16}  {r['name']}")
  bad = [r for r in rows if r["status"] != "ok"]
  print(f"{len(rows) - len(bad)} of {len(rows)} files ok in {_DEST.value}.")
  return int(bool(bad))


if __name__ == "__main__":
  app.run(main)
