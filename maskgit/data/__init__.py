"""Data: preparing image datasets as TFDS array_record and reading them.

Modules (import the one you need; none is imported here, so that reading a
.npz dataset needs neither TFDS nor grain):
  folder    - `build_folder_dataset`, `write_dataset`, `split_for_key`;
  emoji     - `build_emoji_dataset` (the Noto Color Emoji font);
  pipeline  - training/eval iterators over array_record, without TensorFlow;
  arrays    - small datasets held in memory from one .npz file.
"""
