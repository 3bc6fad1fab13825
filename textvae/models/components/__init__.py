"""Building blocks the models share: encoders, decoders, latent heads, classifiers."""
