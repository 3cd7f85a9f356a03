"""From a model folder and images to probability maps, nuclei and the files that hold them."""
