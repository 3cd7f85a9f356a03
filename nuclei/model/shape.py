"""The U-Net's depth, and the image sides it takes: light enough for argument checks before Keras loads."""

MODEL_DEPTH = 4
"""Number of 2x poolings in the U-Net."""
SIZE_STEP = 2**MODEL_DEPTH
"""Image sides the U-Net takes are multiples of this many pixels (the input is padded up to one)."""
DEFAULT_FILTERS = (16, 32, 64, 128, 256)
"""Convolutions per pixel at each depth, from the full-size stage down to the bottom."""
