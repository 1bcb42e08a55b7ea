"""Data: preparing image datasets as TFDS array_record and reading them.

Preparing: `build_folder_dataset` (a folder of images) and
`emoji.build_emoji_dataset` (the Noto Color Emoji font). Reading for training
and evaluation, without TensorFlow: `pipeline`.
"""

from maskgit.data.folder import build_folder_dataset
from maskgit.data.folder import split_for_key
from maskgit.data.folder import write_dataset
from maskgit.data.pipeline import DataIterator
from maskgit.data.pipeline import eval_iterator
from maskgit.data.pipeline import open_split
from maskgit.data.pipeline import train_iterator

__all__ = [
    'build_folder_dataset',
    'split_for_key',
    'write_dataset',
    'DataIterator',
    'eval_iterator',
    'open_split',
    'train_iterator',
]
