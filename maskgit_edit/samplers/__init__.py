"""Token editing methods: one `base.Sampler` per module.

Each module holds everything about one method: its options (a frozen
dataclass with `validate()`), its host-side preparation, its start tokens and
the `DecodeHooks` that customise the one decode loop (`maskgit.decode`), and
the docstring that says how `strength` maps onto its internals.
`maskgit_edit.methods` registers them by name (one line each).
"""
