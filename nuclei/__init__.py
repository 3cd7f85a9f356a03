"""Nuclei segmentation for the 2018 Data Science Bowl: the machinery behind the scripts at the project's root.

Where things happen:

- ``nuclei.data``: reading the DSB folder layout (``dsb``, ``loading``, ``cache``), image types
  (``image_types``, ``clustering``), training targets (``targets``), normalisation
  (``normalisation``), crops, augmentation and ``tf.data`` pipelines, and the generated sample
  (``synthetic``).
- ``nuclei.model``: the U-Net (``unet``, ``layers``, ``losses``, ``learning_rate``) and the model
  folder (``folder``).
- ``nuclei.training``: a training run (``run``) configured by one ``RunConfig`` (``config``), its
  training step (``loop``), what happens at the end of every epoch (``epoch_end``), learning-rate
  ``schedules``, the ``time_budget``, ``checkpoint``, ``history`` and the ``validation`` scores.
- ``nuclei.prediction``: opening a model folder (``opening``), whole-image prediction
  (``inference``), probabilities to nuclei (``instances``), post-processing ``tuning``,
  predicting DSB folders (``folders``), and the engine that runs the network (``runtimes``:
  TensorFlow, OpenVINO or ONNX Runtime).
- ``nuclei.export``: the network as ONNX and TensorFlow SavedModel (``networks``), as a
  bioimage.io package (``bioimageio``), and checking an exported file (``checks``).
- ``nuclei.evaluation``: the competition's ``metric``, run-length encoding (``rle``) and ``scores``.
- ``cli``, ``options`` and ``runtime``: command-line plumbing, options shared by several scripts,
  and preparing the process for TensorFlow; ``errors``: the suite's two exceptions; ``files``:
  writing files atomically; ``viewer``: the result windows and figures; ``optional``: which
  feature needs which of the optional packages (requirements-extras.txt).

Modules that import Keras at the top (``nuclei.model.unet``, ``layers``, ``losses``,
``learning_rate``, ``nuclei.training.loop``, ``schedules``, ``epoch_end``, ``run``) are imported by
the scripts only after ``runtime.import_tensorflow()``, so that ``--help`` is instant and
TensorFlow starts quietly.
"""
