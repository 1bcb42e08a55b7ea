"""The generic training loop every recipe runs through.

Start-up order: resume from the workdir's latest checkpoint, else
`config.init_from` (a recipe-specific official msgpack file, placed with the
target shardings), else fresh parameters initialised directly into their
shardings (`eval_shape` -> rule-based specs -> `jit(init, out_shardings)`).

Each step: host batch (grain or synthetic) -> recipe.host_transform (numpy) ->
global arrays split over ('data', 'fsdp') -> jitted recipe.prepare (e.g.
tokenization, no gradient) -> jitted train step (donated state). The loop
checks the loss every step (NaN/inf stops with the step named; the last good
checkpoint stays), saves through one orbax CheckpointManager (async, keep-N,
every N steps, plus on SIGTERM and at the end), logs scalars to JSONL (and
TensorBoard when tensorboardX is installed) from process 0, prints step,
loss, steps/s, examples/s and ETA, and periodically writes eval loss and a
PNG sample grid. At the end it exports the trained weights in the official
layout to <workdir>/export.
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
import numpy as np
import optax

from maskgit.training import ConfigError
from maskgit.training import checkpointing
from maskgit.training import data as data_lib
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
  def _train_step(self, state: TrainState, frozen, batch):
    rng = state.step_key()
    grads, metrics = optim.accumulate(
        self.recipe.grad_fn, state.params, batch, rng,
        int(self.config.optim.grad_accum_steps), frozen, state.step)
    metrics = dict(metrics)
    metrics["grad_norm"] = optax.tree.norm(grads)
    metrics["lr"] = self.schedule(state.step)
    return state.apply_gradients(grads), metrics

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

  def prepare_fn(self) -> Callable:
    if "prepare" not in self._jitted:
      self._jitted["prepare"] = jax.jit(
          self.recipe.prepare,
          in_shardings=(self.frozen_shardings(), self.batch_sharding),
          out_shardings=self.batch_sharding)
    return self._jitted["prepare"]

  def eval_fn(self) -> Callable:
    if "eval" not in self._jitted:
      self._jitted["eval"] = jax.jit(
          self.recipe.eval_metrics,
          in_shardings=(self.state_shardings.params, self.frozen_shardings(),
                        self.batch_sharding, self.repl),
          out_shardings=self.repl)
    return self._jitted["eval"]

  def samples_fn(self) -> Callable:
    if "samples" not in self._jitted:
      self._jitted["samples"] = jax.jit(self.recipe.samples)
    return self._jitted["samples"]

  def batch(self, host: dict[str, np.ndarray], step: int) -> dict:
    """Host batch -> prepared global batch."""
    host = self.recipe.host_transform(host, step)
    return self.prepare_fn()(self.frozen,
                             sharding.global_batch(host, self.mesh))


class _MetricWriter:
  """Process 0 writes JSONL (and TensorBoard if tensorboardX is present)."""

  def __init__(self, workdir: str):
    self._on = jax.process_index() == 0
    self._f = None
    self._tb = None
    if not self._on:
      return
    os.makedirs(workdir, exist_ok=True)
    self._f = open(os.path.join(workdir, "metrics.jsonl"), "a")
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
  from PIL import Image  # pylint: disable=g-import-not-at-top
  images = np.clip(np.asarray(images, np.float32), 0, 1)
  n, h, w, _ = images.shape
  cols = int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / cols))
  grid = np.ones((rows * h, cols * w, 3), np.float32)
  for i in range(n):
    r, c = divmod(i, cols)
    grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = images[i]
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray((grid * 255 + 0.5).astype(np.uint8)).save(path)


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
     'eval': last eval metrics, 'export': exported paths}.

  Raises:
    ConfigError: the config cannot run (one clear message).
    FloatingPointError: the loss became NaN/inf (the step is named).
  """
  workdir = os.path.abspath(workdir)
  trainer = Trainer(config, recipe)
  model = trainer.recipe.model_info()
  train_it = data_lib.train_iterator(config, model["image_size"],
                                     model["num_classes"])
  mgr = checkpointing.manager(workdir, config)
  writer = _MetricWriter(workdir)
  abstract = checkpointing.abstract_with_shardings(trainer.abstract_state,
                                                   trainer.state_shardings)
  with contextlib.ExitStack() as stack:
    stack.enter_context(jax.set_mesh(trainer.mesh))
    stop = stack.enter_context(_StopOnSignal())
    stack.callback(writer.close)
    stack.callback(mgr.close)
    latest = mgr.latest_step()
    if latest is not None:
      state, data_state = checkpointing.restore(mgr, latest, abstract)
      train_it.set_state(data_state)
      logging.info("Resumed from step %d in %s.", latest, workdir)
    else:
      host_params = trainer.recipe.load_params()
      state = trainer.init_state(host_params)
      logging.info("Initialised %s (%s).", trainer.recipe.name,
                   "from " + config.init_from if host_params is not None
                   else "from scratch")
    start = int(jax.device_get(state.step))
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
    for step in range(start, num_steps):
      state, metrics = step_fn(state, trainer.frozen, batch)  # Async.
      done = step + 1
      # Iterator position after `done` batches, for the checkpoint; then the
      # next batch's host work (decoding, stroke simulation) overlaps the
      # device step instead of waiting for the loss below.
      data_state = train_it.get_state()
      if done < num_steps:
        batch = fetch(done)
      loss = float(metrics["loss"])
      if not math.isfinite(loss):
        mgr.wait_until_finished()
        good = mgr.latest_step()
        raise FloatingPointError(
            f"Loss is {loss} at step {done}; stopping. The last good "
            f"checkpoint (step {good}) in {workdir}/checkpoints is kept; "
            "lower the learning rate or check the data and resume.")
      losses[done] = loss
      if on_step is not None:
        on_step(done, loss)
      if done % int(config.log_every) == 0 or done == num_steps:
        now = time.perf_counter()
        sps = (done - s_last) / max(now - t_last, 1e-9)
        t_last, s_last = now, done
        scalars = {k: float(v) for k, v in metrics.items()}
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
      out_of_time = bool(time_limit) and (
          time.perf_counter() - t_start >= time_limit) and done < num_steps
      final = done == num_steps or stop.requested or out_of_time
      checkpointing.save(mgr, done, state, data_state, config, force=final)
      if stop.requested:
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
          "stopped": status, "eval": last_eval, "export": exported}
