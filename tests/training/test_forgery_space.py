"""The forgery space: fitted on pooled features, exported beside the embedding, same in ONNX."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

from sigverify.training.export import check_parity, to_onnx_bytes
from sigverify.training.forgery_space import WithForgerySpace, fit_forgery_space, space_features
from sigverify.training.model import RegionalSignatureNet


def _pooled(rng, writers=30, genuine=8, forgeries=5, size=20, slip=3):
    """Non-negative 'pooled features' whose logarithm varies per writer; forgeries move along one
    feature (``slip``) that genuine signatures keep steady."""
    rows, writer, forged = [], [], []
    for w in range(writers):
        centre = rng.normal(size=size)
        for fake in [False] * genuine + [True] * forgeries:
            x = centre + 0.3 * rng.normal(size=size)
            x[slip] = centre[slip] + 0.05 * rng.normal() + (0.5 if fake else 0.0)
            rows.append(np.expm1(np.exp(x)))  # log1p(pooled) = exp(x) > 0
            writer.append(w)
            forged.append(fake)
    return np.array(rows), np.array(writer), np.array(forged)


def test_the_space_finds_the_feature_that_forgers_get_wrong():
    pooled, writer, forged = _pooled(np.random.default_rng(0))
    # other writers weighted as much as the forgeries: these made-up writers differ in every feature,
    # far more than real writers do relative to their forgeries (the shipped weight is 3); a light ridge:
    # the shipped one (1 x the mean variance) suits thousands of noisy real features, not these 20
    space = fit_forgery_space(pooled, writer, forged, dimensions=2, between=1.0, ridge=0.1)
    assert space is not None and space.projection.shape == (20, 2)
    first = np.abs(space.projection[:, 0] * space.scale)  # the first direction, per feature
    assert first.argmax() == 3 and first[3] > 5 * np.delete(first, 3).max()
    z = space.coordinates(pooled)[:, 0]
    genuine_gap, forgery_gap = [], []
    for w in np.unique(writer):
        centre = z[(writer == w) & ~forged].mean()
        genuine_gap += list(np.abs(z[(writer == w) & ~forged] - centre))
        forgery_gap += list(np.abs(z[(writer == w) & forged] - centre))
    assert np.mean(forgery_gap) > 4 * np.mean(genuine_gap)


def test_too_few_writers_with_forgeries_fit_nothing():
    pooled, writer, forged = _pooled(np.random.default_rng(1), writers=5)
    assert fit_forgery_space(pooled, writer, forged) is None
    pooled, writer, forged = _pooled(np.random.default_rng(1))
    assert fit_forgery_space(pooled[~forged], writer[~forged], forged[~forged]) is None


def test_the_exported_network_outputs_embedding_then_space_and_onnx_agrees():
    torch.manual_seed(0)
    # 64 pooled features; texture: mean and spread of the two 8-channel maps before the last two
    # max-pools (32), the spread of the last map (8), and the channel correlations of the three 8-channel
    # maps before the max-pools (3 x 28; the last 28 are the 'wide' block, reduced to 10 components for the fit)
    branch = RegionalSignatureNet(embedding_size=16, channels=(4, 8, 8, 8, 8)).eval()
    rng = np.random.default_rng(2)
    # images that differ from each other as much as signatures do (sparse ink of varying density)
    canvases = (rng.uniform(0, 1, size=(160, 128, 256)) ** rng.uniform(1, 12, size=(160, 1, 1))).astype(np.float32)
    for layer in branch.modules():  # batch-norm statistics of these images, as training leaves them
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.momentum = None
    with torch.no_grad():
        branch.train()(torch.from_numpy(canvases[:, None]))
    branch.eval()
    pooled = space_features(branch, canvases)
    assert pooled.shape == (160, 64 + 40 + 84) and branch.wide_texture_size == 28
    writer, forged = np.repeat(np.arange(20), 8), np.tile([False] * 6 + [True] * 2, 20)
    space = fit_forgery_space(pooled, writer, forged, dimensions=6, wide=28, components=10)
    assert space.projection.shape == (188, 6)  # the components are folded back: it reads every feature
    network = WithForgerySpace(branch, space).eval()
    with torch.no_grad():
        out = network(torch.from_numpy(canvases[:5, None])).numpy()
        alone = branch(torch.from_numpy(canvases[:5, None])).numpy()
    assert out.shape == (5, 22) and network.identity_size == 16
    assert np.allclose(out[:, :16], alone, atol=1e-5)
    assert np.allclose(out[:, 16:], space.coordinates(pooled[:5]), atol=1e-3)
    onnx_bytes = to_onnx_bytes(network, 128, 256)
    assert check_parity(network, onnx_bytes, canvases[:8]) < 1e-4
    (onnx_out,) = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(
        ["embedding"], {"image": canvases[:5, None]})
    assert np.allclose(onnx_out, out, atol=1e-4)


def test_training_features_number_writers_across_chunks(tmp_path):
    """The training images are read a few writers at a time; every writer keeps its own index."""
    from sigverify.synthetic import write_dataset
    from sigverify.training.decision_fit import training_features
    from sigverify.training.trainer import TrainConfig, build_model, split_dataset

    data = write_dataset(tmp_path / "data", writers=7, genuine=3, forged=2, seed=3)
    config = TrainConfig(dataset=str(data), architecture="regional", channels=(4, 8, 8, 8, 8), embedding_size=8,
                         validation_share=0.0, validation_writers=["007"])
    split = split_dataset(config, [])
    model = build_model(config).eval()
    whole = training_features(model, split, config, [], writers_per_chunk=100)
    chunked = training_features(model, split, config, [], writers_per_chunk=2)
    assert len(np.unique(whole[1])) == len(split.train) == 6
    assert np.array_equal(whole[1], chunked[1]) and np.array_equal(whole[2], chunked[2])
    assert np.allclose(whole[0], chunked[0], atol=1e-5)


def _correlations(x: torch.Tensor) -> torch.Tensor:
    """Pearson-style channel correlations about zero, pair by pair, written out the slow way."""
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1).double()
    out = []
    for i in range(c):
        for j in range(i + 1, c):
            num = (flat[:, i] * flat[:, j]).mean(1)
            out.append(num / torch.sqrt((flat[:, i] ** 2).mean(1) * (flat[:, j] ** 2).mean(1) + 1e-12))
    return torch.stack(out, dim=1).float()


def test_texture_is_each_channels_mean_and_spread_over_the_finer_maps_and_their_channel_correlations():
    torch.manual_seed(1)
    branch = RegionalSignatureNet(embedding_size=8, channels=(4, 8, 8, 8, 8)).eval()
    x = torch.rand(3, 1, 128, 256)
    maps = []
    hooks = [branch.features[i].register_forward_hook(lambda m, i, o: maps.append(o)) for i in (3, 5, 7)]
    with torch.no_grad():
        pooled, texture = branch.pooled_and_texture(x)
        final = branch.features(x)
    for hook in hooks:
        hook.remove()
    fine = maps[1:3]  # the stages before the last two max-pools (layers 5 and 7 of this layout)
    expected = torch.cat([fine[0].mean(dim=(2, 3)), fine[0].std(dim=(2, 3), correction=0),
                          fine[1].mean(dim=(2, 3)), fine[1].std(dim=(2, 3), correction=0),
                          final.std(dim=(2, 3), correction=0)] + [_correlations(m) for m in maps[:3]], dim=1)
    assert torch.allclose(texture, expected, atol=1e-5)
    assert torch.allclose(pooled, branch.pooled(x), atol=1e-6)
