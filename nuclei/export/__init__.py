"""The trained network for other programs: ONNX and SavedModel files (networks), bioimage.io packages (bioimageio),
and checking an exported file (checks). Imported after TensorFlow; the optional packages are needed."""
