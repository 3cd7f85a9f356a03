"""The U-Net, its layers, losses and metrics, and the self-describing model folder."""
