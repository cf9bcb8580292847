"""onnxruntime only: the model manifest, the embedding engine, where models live."""
