"""The generic training loop every recipe runs through.

Start-up order: resume from the workdir's latest checkpoint, else
`config.init_from` (a recipe-specific official msgpack file, placed with the
target shardings), else fresh parameters initialised directly into their
shardings (`eval_shape` -> rule-based specs -> `jit(init, out_shardings)`).

Each step: host batch (grain or synthetic) -> recipe.host_transform (numpy) ->
global arrays split over ('data', 'fsdp') -> one jitted train step (donated
state) that runs recipe.prepare (e.g. tokenization, no gradient, in chunks of
`prepare_batch` images per device) and the update, so one compiled program
holds the whole step's memory. The loop checks the loss and the updated
parameters every step (NaN/inf stops with the step named and no checkpoint
of a diverged state is left, see `_stop_diverged`), saves through one orbax
CheckpointManager (async, keep-N, every N steps, plus on SIGTERM and at the
end; SIGTERM and the time limit are agreed across processes), logs scalars
to JSONL (and TensorBoard when tensorboardX is installed) from process 0,
prints step, loss, steps/s, examples/s and ETA, and periodically writes eval
loss and a PNG sample grid. At the end it exports the trained weights in the
official layout to <workdir>/export.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from typing import Any, Callable

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from maskgit import image_io
from maskgit import io_utils
from maskgit.training import ConfigError
from maskgit.training import checkpointing
from maskgit.training import data as data_lib
from maskgit.training import distributed
from maskgit.training import optim
from maskgit.training import sharding
from maskgit.training import recipe as recipe_lib
from maskgit.training.recipe import Recipe
from maskgit.training.state import TrainState

PyTree = Any


def get_recipe(config) -> Recipe:
  """The recipe object named by `config.recipe` (see `recipe.build`)."""
  return recipe_lib.build(config)


class Trainer:
  """Jitted, sharded functions of one (config, recipe, mesh)."""

  def __init__(self, config, recipe: Recipe | None = None,
               mesh: jax.sharding.Mesh | None = None):
    self.config = config
    self.recipe = recipe or get_recipe(config)
    self.mesh = mesh or sharding.make_mesh(config.mesh)
    div = sharding.batch_divisor(self.mesh)
    accum = int(config.optim.grad_accum_steps)
    if config.batch_size <= 0 or config.batch_size % (div * accum):
      raise ConfigError(
          f"batch_size {config.batch_size} must be a positive multiple of "
          f"{div} devices x {accum} grad_accum_steps = {div * accum} (mesh "
          f"{dict(self.mesh.shape)}).")
    self.schedule = optim.make_schedule(config.optim, config.num_steps)
    self.tx = optim.make_optimizer(config.optim, config.num_steps)
    self.abstract_state = jax.eval_shape(self._init_state,
                                         jax.random.key(0), None)
    self.state_shardings = sharding.tree_shardings(self.abstract_state,
                                                   self.mesh)
    self.batch_sharding = sharding.batch_sharding(self.mesh)
    self.repl = sharding.replicated(self.mesh)
    self._frozen = None
    self._jitted: dict[str, Callable] = {}

  # -- state ----------------------------------------------------------------
  def _init_state(self, rng, params):
    k_params, k_run = jax.random.split(rng)
    if params is None:
      params = self.recipe.init_params(k_params)
    return TrainState.create(params, self.tx, k_run)

  def init_state(self, host_params: PyTree | None = None) -> TrainState:
    """Fresh (or `host_params`-initialised) state, born sharded."""
    rng = jax.random.key(int(self.config.seed))
    if host_params is None:
      fn = jax.jit(lambda r: self._init_state(r, None),
                   out_shardings=self.state_shardings)
      return fn(rng)
    params = jax.device_put(host_params, self.state_shardings.params)
    fn = jax.jit(self._init_state, out_shardings=self.state_shardings)
    return fn(rng, params)

  @property
  def frozen(self) -> PyTree:
    if self._frozen is None:
      self._frozen = sharding.put_tree(self.recipe.frozen(), self.mesh)
    return self._frozen

  def frozen_shardings(self) -> PyTree:
    return jax.tree.map(lambda x: x.sharding, self.frozen)

  # -- jitted functions -----------------------------------------------------
  def prepare(self, frozen, batch):
    """recipe.prepare in chunks of <= `config.prepare_batch` per device.

    The tokenizer's activations grow with the number of images encoded at
    once (at 256 px they outweigh the train step); encoding the batch in
    sequential chunks (`lax.map`) bounds them. Example i goes to chunk
    i % k, so every device keeps its own examples.
    """
    b = jax.tree.leaves(batch)[0].shape[0]
    per_device = max(1, b // sharding.batch_divisor(self.mesh))
    cap = int(self.config.get("prepare_batch", 0) or 0)
    k = 1
    if cap > 0:
      k = next(d for d in range(1, per_device + 1)
               if per_device % d == 0 and per_device // d <= cap)
    if k == 1:
      return self.recipe.prepare(frozen, batch)

    def split(x):
      return jnp.swapaxes(x.reshape((b // k, k) + x.shape[1:]), 0, 1)

    def merge(x):
      return jnp.swapaxes(x, 0, 1).reshape((b,) + x.shape[2:])

    out = jax.lax.map(lambda mb: self.recipe.prepare(frozen, mb),
                      jax.tree.map(split, batch))
    return jax.tree.map(merge, out)

  def _grad_fn(self, params, batch, rng, frozen, step):
    # Tokenize inside the (accumulation) step: one program, one peak.
    return self.recipe.grad_fn(params, self.prepare(frozen, batch), rng,
                               frozen, step)

  def _train_step(self, state: TrainState, frozen, batch):
    rng = state.step_key()
    grads, metrics = optim.accumulate(
        self._grad_fn, state.params, batch, rng,
        int(self.config.optim.grad_accum_steps), frozen, state.step)
    metrics = dict(metrics)
    metrics["grad_norm"] = optax.tree.norm(grads)
    metrics["lr"] = self.schedule(state.step)
    new = state.apply_gradients(grads)
    # 1.0 iff every updated parameter is finite (the NaN guard's check).
    metrics["params_finite"] = jnp.all(jnp.asarray([
        jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(new.params)
    ])).astype(jnp.float32)
    return new, metrics

  def train_step_fn(self, frozen_shardings=None) -> Callable:
    """jit(train_step) with in/out shardings and the state donated."""
    if "train" not in self._jitted:
      fs = (self.frozen_shardings() if frozen_shardings is None
            else frozen_shardings)
      self._jitted["train"] = jax.jit(
          self._train_step,
          in_shardings=(self.state_shardings, fs, self.batch_sharding),
          out_shardings=(self.state_shardings, self.repl),
          donate_argnums=(0,))
    return self._jitted["train"]

  def eval_fn(self) -> Callable:
    """jit((params, frozen, raw batch, rng) -> eval metrics)."""
    if "eval" not in self._jitted:
      self._jitted["eval"] = jax.jit(
          lambda p, f, b, r: self.recipe.eval_metrics(
              p, f, self.prepare(f, b), r),
          in_shardings=(self.state_shardings.params, self.frozen_shardings(),
                        self.batch_sharding, self.repl),
          out_shardings=self.repl)
    return self._jitted["eval"]

  def samples_fn(self) -> Callable:
    """jit((params, frozen, raw batch, rng) -> images or None)."""
    if "samples" not in self._jitted:
      self._jitted["samples"] = jax.jit(
          lambda p, f, b, r: self.recipe.samples(p, f, self.prepare(f, b), r))
    return self._jitted["samples"]

  def batch(self, host: dict[str, np.ndarray], step: int) -> dict:
    """Host batch -> recipe.host_transform -> global (raw) batch arrays.

    Tokenization (recipe.prepare) happens inside the jitted functions.
    """
    host = self.recipe.host_transform(host, step)
    return sharding.global_batch(host, self.mesh)


class _MetricWriter:
  """Process 0 writes JSONL (and TensorBoard if tensorboardX is present).

  On resume from step s, lines of steps after s (written before a kill, and
  about to be replayed) are dropped first, so every step appears once.
  """

  def __init__(self, workdir: str, resume_step: int = 0):
    self._on = jax.process_index() == 0
    self._f = None
    self._tb = None
    if not self._on:
      return
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "metrics.jsonl")
    _drop_metrics_after(path, resume_step)
    self._f = open(path, "a")
    try:
      from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
      self._tb = SummaryWriter(os.path.join(workdir, "tb"))
    except ImportError:
      pass

  def write(self, step: int, scalars: dict[str, float]) -> None:
    if not self._on:
      return
    self._f.write(json.dumps({"step": int(step), **{
        k: float(v) for k, v in scalars.items()}}) + "\n")
    self._f.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        self._tb.add_scalar(k, float(v), int(step))

  def close(self) -> None:
    if self._f is not None:
      self._f.close()
    if self._tb is not None:
      self._tb.close()


def _drop_metrics_after(path: str, step: int) -> None:
  """Rewrites the JSONL at `path` without lines of steps > `step`."""
  if not os.path.exists(path):
    return
  with open(path) as f:
    lines = f.readlines()
  keep = []
  for line in lines:
    try:
      if int(json.loads(line)["step"]) > step:
        continue
    except (ValueError, KeyError, TypeError):
      continue  # A torn last line from a kill.
    keep.append(line if line.endswith("\n") else line + "\n")
  if len(keep) == len(lines) and all(a == b for a, b in zip(keep, lines)):
    return
  with io_utils.atomic_write(path, "w") as f:
    f.writelines(keep)
  logging.info("metrics.jsonl: dropped %d lines after step %d (replayed).",
               len(lines) - len(keep), step)


_SCHEDULE_KEYS = ("num_steps", "optim.learning_rate", "optim.warmup_steps",
                  "optim.decay", "optim.end_lr_factor")


def _warn_schedule_change(saved: dict, config, step: int) -> str | None:
  """One warning line if the resumed run's schedule differs from the saved."""
  now = json.loads(config.to_json_best_effort())
  changed = []
  for key in _SCHEDULE_KEYS:
    a, b = saved, now
    for part in key.split("."):
      a = a.get(part) if isinstance(a, dict) else None
      b = b.get(part) if isinstance(b, dict) else None
    if a is not None and a != b:
      changed.append(f"{key} {a} -> {b}")
  if not changed:
    return None
  msg = (f"Resuming at step {step} with a changed learning-rate schedule "
         f"({'; '.join(changed)}): later steps follow the new schedule.")
  logging.warning(msg)
  return msg


class _StopOnSignal:
  """Turns SIGTERM into a flag the loop checks after each step."""

  def __init__(self):
    self.requested = False
    self._prev = None

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._prev = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    logging.warning("Signal %d: saving a checkpoint and stopping.", signum)
    self.requested = True

  def __exit__(self, *exc):
    if self._prev is not None:
      signal.signal(signal.SIGTERM, self._prev)


def _fmt_eta(seconds: float) -> str:
  if not math.isfinite(seconds):
    return "?"
  seconds = int(seconds)
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _save_grid(images: np.ndarray, path: str) -> None:
  """A square-ish PNG grid of float images [N, H, W, 3] (atomic write)."""
  image_io.save_png(path, image_io.grid(np.clip(images, 0, 1), pad=0))


def _to_host(tree: PyTree) -> PyTree:
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    tree = multihost_utils.process_allgather(tree, tiled=True)
  return jax.tree.map(np.asarray, jax.device_get(tree))


def export(trainer: Trainer, state: TrainState, workdir: str) -> list[str]:
  """Writes the trained weights in the official layout (process 0)."""
  params = _to_host(state.params)
  frozen = _to_host(trainer.frozen)
  if jax.process_index() != 0:
    return []
  out = os.path.join(os.path.abspath(workdir), "export")
  os.makedirs(out, exist_ok=True)
  return trainer.recipe.export(params, frozen, out)


def _evaluate(trainer: Trainer, state: TrainState) -> dict[str, float]:
  cfg = trainer.config
  model = trainer.recipe.model_info()
  totals: dict[str, float] = {}
  n = 0
  rng = jax.random.key(int(cfg.seed) + 17)
  for i, host in enumerate(data_lib.eval_batches(
      cfg, model["image_size"], model["num_classes"], int(cfg.eval_batches))):
    batch = trainer.batch(host, -1 - i)
    m = trainer.eval_fn()(state.params, trainer.frozen, batch, rng)
    for k, v in m.items():
      totals[k] = totals.get(k, 0.0) + float(v)
    n += 1
  return {f"eval_{k}": v / n for k, v in totals.items()} if n else {}


def _write_samples(trainer: Trainer, state: TrainState, workdir: str,
                   step: int) -> str | None:
  cfg = trainer.config
  model = trainer.recipe.model_info()
  host = next(iter(data_lib.eval_batches(cfg, model["image_size"],
                                         model["num_classes"], 1)), None)
  if host is None:
    return None
  batch = trainer.batch(host, -1)
  images = trainer.samples_fn()(
      state.params, trainer.frozen, batch, jax.random.key(int(cfg.seed) + 29))
  if images is None:
    return None
  images = _to_host(images)[:int(cfg.num_samples)]
  if jax.process_index() != 0:
    return None
  path = os.path.join(workdir, "samples", f"step_{step:07d}.png")
  _save_grid(images, path)
  return path


def train_and_evaluate(config, workdir: str, *,
                       recipe: Recipe | None = None,
                       on_step: Callable[[int, float], None] | None = None
                       ) -> dict[str, Any]:
  """Trains `config.recipe` in `workdir` (resuming if it holds a checkpoint).

  Args:
    config: a training config (see configs/*.py).
    workdir: directory for checkpoints, metrics.jsonl, samples and export.
    recipe: use this recipe object instead of the one `config.recipe` names.
    on_step: called as on_step(step, loss) after every step (tests, hooks).

  Returns:
    {'losses': {step: loss}, 'step': last step,
     'stopped': 'done' | 'signal' | 'time_limit',
     'eval': last eval metrics, 'export': exported paths,
     'warning': the schedule-change warning of a resume, or None}.

  Raises:
    ConfigError: the config cannot run (one clear message).
    FloatingPointError: the loss or the updated parameters became NaN/inf
      (the step is named; no checkpoint of a diverged state is left).
  """
  workdir = os.path.abspath(workdir)
  trainer = Trainer(config, recipe)
  model = trainer.recipe.model_info()
  train_it = data_lib.train_iterator(config, model["image_size"],
                                     model["num_classes"])
  mgr = checkpointing.manager(workdir, config)
  abstract = checkpointing.abstract_with_shardings(trainer.abstract_state,
                                                   trainer.state_shardings)
  with contextlib.ExitStack() as stack:
    stack.enter_context(jax.set_mesh(trainer.mesh))
    stop = stack.enter_context(_StopOnSignal())
    stack.callback(mgr.close)
    latest = mgr.latest_step()
    warning = None
    if latest is not None:
      state, data_state, saved_config = checkpointing.restore(mgr, latest,
                                                              abstract)
      train_it.set_state(data_state)
      logging.info("Resumed from step %d in %s.", latest, workdir)
      warning = _warn_schedule_change(saved_config, config, latest)
    else:
      host_params = trainer.recipe.load_params()
      state = trainer.init_state(host_params)
      logging.info("Initialised %s (%s).", trainer.recipe.name,
                   "from " + config.init_from if host_params is not None
                   else "from scratch")
    start = int(jax.device_get(state.step))
    writer = _MetricWriter(workdir, start)
    stack.callback(writer.close)
    num_steps = int(config.num_steps)
    step_fn = trainer.train_step_fn()
    losses: dict[int, float] = {}
    last_eval: dict[str, float] = {}
    status = "done"
    t_last, s_last = time.perf_counter(), start
    time_limit = float(config.get("time_limit_s", 0) or 0)
    t_start = time.perf_counter()
    fetch = lambda step: trainer.batch(next(train_it), step)
    batch = fetch(start) if start < num_steps else None
    if batch is not None and jax.process_count() > 1:
      # Compile first, then meet: processes whose compiles took different
      # times would otherwise reach the step's first collective apart (gloo
      # gives up after 30 s).
      step_fn = step_fn.lower(state, trainer.frozen, batch).compile()
      distributed.barrier("maskgit_train_compiled")
    for step in range(start, num_steps):
      state, metrics = step_fn(state, trainer.frozen, batch)  # Async.
      done = step + 1
      # Iterator position after `done` batches, for the checkpoint; then the
      # next batch's host work (decoding, stroke simulation) overlaps the
      # device step instead of waiting for the loss below.
      data_state = train_it.get_state()
      if done < num_steps:
        batch = fetch(done)
      # The loss and params_finite are replicated: every process takes the
      # same decision here.
      loss = float(metrics["loss"])
      params_ok = float(metrics["params_finite"]) > 0
      if not (math.isfinite(loss) and params_ok):
        _stop_diverged(mgr, workdir, done, loss, params_ok)
      losses[done] = loss
      if on_step is not None:
        on_step(done, loss)
      if done % int(config.log_every) == 0 or done == num_steps:
        now = time.perf_counter()
        sps = (done - s_last) / max(now - t_last, 1e-9)
        t_last, s_last = now, done
        scalars = {k: float(v) for k, v in metrics.items()
                   if k != "params_finite"}
        scalars.update(steps_per_sec=sps,
                       examples_per_sec=sps * config.batch_size)
        writer.write(done, scalars)
        logging.info("step %d/%d loss %.4f | %.2f steps/s %.1f ex/s | ETA %s",
                     done, num_steps, loss, sps, sps * config.batch_size,
                     _fmt_eta((num_steps - done) / max(sps, 1e-9)))
      if config.eval_every and done % int(config.eval_every) == 0:
        last_eval = _evaluate(trainer, state)
        writer.write(done, last_eval)
        logging.info("step %d eval %s", done, last_eval)
      if config.sample_every and done % int(config.sample_every) == 0:
        path = _write_samples(trainer, state, workdir, done)
        if path:
          logging.info("Wrote samples %s", path)
      if (config.eval_every and done % int(config.eval_every) == 0) or (
          config.sample_every and done % int(config.sample_every) == 0):
        t_last = time.perf_counter()  # Rates exclude eval and sampling.
      # SIGTERM and the time limit are per-process events: agree on them
      # (any process -> all), so every process stops at this same step.
      out_of_time = bool(time_limit) and (
          time.perf_counter() - t_start >= time_limit)
      if done < num_steps:
        signalled, out_of_time = distributed.agree_flags(
            [stop.requested, out_of_time])
      else:
        signalled, out_of_time = stop.requested, False
      final = done == num_steps or signalled or out_of_time
      checkpointing.save(mgr, done, state, data_state, config, force=final)
      if signalled:
        logging.warning("Stop requested (SIGTERM) at step %d: saved.", done)
        status = "signal"
        break
      if out_of_time:
        logging.warning("time_limit_s=%g reached at step %d of %d: saving, "
                        "exporting and stopping.", time_limit, done, num_steps)
        status = "time_limit"
        break
    mgr.wait_until_finished()
    exported = []
    if status in ("done", "time_limit"):
      exported = export(trainer, state, workdir)
      for p in exported:
        logging.info("Exported %s", p)
  return {"losses": losses, "step": int(jax.device_get(state.step)),
          "stopped": status, "eval": last_eval, "export": exported,
          "warning": warning}


def _stop_diverged(mgr, workdir: str, done: int, loss: float,
                   params_ok: bool) -> None:
  """Raises FloatingPointError; the latest checkpoint left is a good one.

  The state after step `done` is never saved. A non-finite loss at step
  `done` was computed from the state after step `done - 1`: if that state
  was checkpointed, it is deleted (its weights diverge), so a rerun resumes
  from an earlier, healthy checkpoint.
  """
  mgr.wait_until_finished()
  if not math.isfinite(loss) and mgr.latest_step() == done - 1:
    mgr.delete(done - 1)
    logging.warning("Deleted checkpoint %d: its weights give loss %s.",
                    done - 1, loss)
  good = mgr.latest_step()
  what = (f"Loss is {loss}" if not math.isfinite(loss)
          else "The updated parameters are not finite")
  where = (f"checkpoint (step {good}) in {workdir}/checkpoints is kept"
           if good is not None else f"checkpoint: none in {workdir}")
  raise FloatingPointError(
      f"{what} at step {done}; stopping. The last good {where}; lower the "
      "learning rate or check the data and resume.")
