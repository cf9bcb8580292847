"""The twin network's branch: a compact CNN mapping a signature canvas to an embedding.

Architecture (input 1x96x192, ink high):
  5 stages of [3x3 conv, BatchNorm, ReLU] with 2x2 max-pooling between them
  (channels 16, 32, 64, 128, 192), global average + max pooling, a linear layer to the
  embedding, L2 normalisation.
Why: signatures are thin strokes on empty paper; small 3x3 kernels stacked five deep see a
whole letter (receptive field ~80 px) at a fraction of the cost of 5x5 kernels; BatchNorm
makes training on a few hundred writers stable; global pooling instead of a large fully
connected layer keeps parameters at 0.37 M and 0.16 GFLOP per signature (the seed design spends 46 M of its parameters
in one FC layer) and makes the embedding tolerant to where the ink sits. Unit-length
embeddings bound distances to [0, 2], so one margin suits every model.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SignatureNet(nn.Module):
    """One branch of the twin network; both branches share these weights."""

    def __init__(self, embedding_size: int = 128, channels: tuple[int, ...] = (16, 32, 64, 128, 192)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for i, cout in enumerate(channels):
            layers.append(_stage(cin, cout))
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * cin, embedding_size)
        self.embedding_size = embedding_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return F.normalize(self.head(x), dim=1)


def _spatial_std(x: torch.Tensor) -> torch.Tensor:
    """Each channel's standard deviation over the image (N, C, H, W) -> (N, C), as plain arithmetic
    so that the exported graph needs no special operator."""
    mean = x.mean(dim=(2, 3))
    return torch.sqrt(torch.clamp((x * x).mean(dim=(2, 3)) - mean * mean, min=0.0) + 1e-12)


def _channel_correlations(x: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """How strongly each pair of channels fires together over the image (N, C, H, W) -> (N, C(C-1)/2):
    the Gram matrix of the map with its diagonal divided out (a correlation, in [0, 1] after ReLU),
    upper triangle (``pairs``: its flat indices, from ``_upper_pairs``). A texture descriptor that does not
    depend on how much ink there is or how dark it is."""
    flat = x.flatten(2)
    gram = flat @ flat.transpose(1, 2) / flat.shape[2]
    power = torch.diagonal(gram, dim1=1, dim2=2)
    correlation = gram / torch.sqrt(power[:, :, None] * power[:, None, :] + 1e-12)
    return correlation.flatten(1)[:, pairs]


def _upper_pairs(channels: int) -> torch.Tensor:
    """Flat indices of a channels x channels matrix above its diagonal, row by row (a constant buffer:
    the exported graph has no triu_indices operator)."""
    return torch.tensor([i * channels + j for i in range(channels) for j in range(i + 1, channels)], dtype=torch.long)


class RegionalSignatureNet(nn.Module):
    """The branch used since the multi-dataset model: higher resolution, global + strip pooling.

    Input 1x128x256 (grey levels kept). A 5x5 stem with stride 2 sees every input pixel, so
    1-px strokes reach the features at a quarter of the cost of a full-resolution stage (SigNet
    strides its first layer too); then stages of [3x3 conv, BN, ReLU] with max-pooling. The last map is pooled globally
    (average and max) and over strips: ``rows`` horizontal bands and ``columns`` vertical bands
    (average), so the embedding also says *where* in the signature a stroke differs, which
    global pooling alone forgets and which is what a skilled forgery gets wrong.
    """

    def __init__(self, embedding_size: int = 128, channels: tuple[int, ...] = (24, 48, 96, 160, 256),
                 rows: int = 2, columns: int = 4, dropout: float = 0.1, depth_from: int = 99) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, channels[0], 5, stride=2, padding=2, bias=False),
                                   nn.BatchNorm2d(channels[0]), nn.ReLU(inplace=True)]
        cin = channels[0]
        for i, cout in enumerate(channels[1:], start=1):
            layers.append(_stage(cin, cout))
            if i >= depth_from:  # the deeper, cheaper stages may see more before pooling
                layers.append(_stage(cout, cout))
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.rows, self.columns = rows, columns
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cin * (2 + rows + columns), embedding_size)
        self.embedding_size = embedding_size
        # the texture's channel correlations read the maps before the last three max-pools
        # (pooled_and_texture); not saved with the weights, so older checkpoints still load
        pooled_widths = channels[1:-1][-3:]
        for k, width in enumerate(pooled_widths):
            self.register_buffer(f"pairs{k}", _upper_pairs(width), persistent=False)
        #: how many numbers at the end of the texture are the widest map's correlations (the forgery
        #: space reduces them to principal components before its fit, see forgery_space.py)
        self.wide_texture_size = pooled_widths[-1] * (pooled_widths[-1] - 1) // 2 if pooled_widths else 0

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features the head reads (global average + max, strips): richer than the
        embedding, and the first part of what the forgery space (training/forgery_space.py) is fitted on."""
        return self._pool(self.features(x))

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        pooled = [x.mean(dim=(2, 3)), x.amax(dim=(2, 3))]
        pooled.append(F.adaptive_avg_pool2d(x, (self.rows, 1)).flatten(1))
        pooled.append(F.adaptive_avg_pool2d(x, (1, self.columns)).flatten(1))
        return torch.cat(pooled, dim=1)

    def pooled_and_texture(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The pooled features and, beside them, *texture*: each channel's mean and standard deviation
        over the image at the two finest scales that are pooled away (the maps before the last two
        max-pools) and the standard deviation of the last map. How evenly a stroke's responses run —
        tremor, hesitation, blunt starts, pressure — is what a slow, careful forger changes and what
        the writer-trained head averages out; the forgery space reads both (training only fits a
        projection of them; the head and the embedding do not change). Then the channel correlations
        (``_channel_correlations``) of the maps before the last three max-pools, the widest last: which
        stroke detectors fire together at fine scales — the ink's texture (style features, as in
        neural style transfer), where a careful forger's slow, pressed line differs most."""
        before_pool = []
        for layer in self.features:
            if isinstance(layer, nn.MaxPool2d):
                before_pool.append(x)
            x = layer(x)
        texture = []
        for fine in before_pool[-2:]:
            texture += [fine.mean(dim=(2, 3)), _spatial_std(fine)]
        texture.append(_spatial_std(x))
        for k, fine in enumerate(before_pool[-3:]):
            texture.append(_channel_correlations(fine, getattr(self, f"pairs{k}")))
        return self._pool(x), torch.cat(texture, dim=1)

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.dropout(pooled)), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed_pooled(self.pooled(x))


class SeedNet(nn.Module):
    """The architecture the product started from (for comparison in bench/ only).

    conv 1→32 5x5 · ReLU · maxpool · conv 32→64 5x5 · ReLU · maxpool · FC 256 · FC 256 · FC 128,
    at its own input size (the FC input size follows from the canvas).
    """

    def __init__(self, height: int = 224, width: int = 224, embedding_size: int = 128) -> None:
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        fh, fw = ((height - 4) // 2 - 4) // 2, ((width - 4) // 2 - 4) // 2
        self.fc = nn.Sequential(
            nn.Linear(64 * fh * fw, 256), nn.ReLU(inplace=True),
            nn.Linear(256, 256), nn.ReLU(inplace=True),
            nn.Linear(256, embedding_size),
        )
        self.embedding_size = embedding_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.cnn(x), 1))


class TwinNetwork(nn.Module):
    """Two inputs through one shared branch; only the branch is exported."""

    def __init__(self, branch: nn.Module) -> None:
        super().__init__()
        self.branch = branch

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.branch(first), self.branch(second)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, height: int, width: int) -> int:
    """Multiply-adds x 2 of one forward pass on one image (convolutions and linear layers)."""
    total = 0

    def conv_hook(module, inputs, output):
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += 2 * kernel * output.numel()

    def linear_hook(module, inputs, output):
        nonlocal total
        total += 2 * module.in_features * output.numel()

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, height, width))
    model.train(was_training)
    for hook in hooks:
        hook.remove()
    return total
