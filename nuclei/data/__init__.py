"""Reading, typing, preparing and augmenting the images: everything before the network."""
