"""The classes an exported PyTorch file defines for the token kinds, when it uses them.

Class and position tokens, taking a token, the token MLP, patch merging and self-attention
(global, windowed, shifted or grid, with a relative position bias): each the source text of a
class, keyed by its name, written into the file by convcalc.bridges.pytorch_export.
"""

from __future__ import annotations

TOKEN_CLASSES: dict[str, str] = {
    "ClassToken": """
class ClassToken(nn.Module):
    \"\"\"Prepend `count` learnt tokens to an N×C×L sequence (ViT's class token).\"\"\"

    def __init__(self, channels, count=1):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, channels, count))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=2)
""",
    "PosEmbedding": """
class PosEmbedding(nn.Module):
    \"\"\"Add a learnt table, one C-vector per position (ViT's pos_embedding).\"\"\"

    def __init__(self, shape):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x):
        return x + self.table
""",
    "TakeToken": """
class TakeToken(nn.Module):
    \"\"\"One token of an N×C×L sequence as an N×C vector (ViT's class token to the head).\"\"\"

    def __init__(self, index=0):
        super().__init__()
        self.index = index

    def forward(self, x):
        return x[:, :, self.index]
""",
    "TokenMLP": """
class TokenMLP(nn.Module):
    \"\"\"Linear, activation, linear over the channels at each position of an N×C×… tensor.\"\"\"

    def __init__(self, channels, hidden, out, activation, bias=True):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden, bias=bias)
        self.activation = activation()
        self.fc2 = nn.Linear(hidden, out, bias=bias)

    def forward(self, x):
        # contiguous: every linear then runs one addmm, whatever layout the layer before left
        last = [0, *range(2, x.dim()), 1]
        back = [0, x.dim() - 1, *range(1, x.dim() - 1)]
        x = x.permute(*last).contiguous()
        return self.fc2(self.activation(self.fc1(x))).permute(*back)
""",
    "PatchMerging": """
class PatchMerging(nn.Module):
    \"\"\"Swin's patch merging: each 2×2 block to 4·C channels (the map padded to even sizes),
    LayerNorm, linear 4C → out.\"\"\"

    def __init__(self, channels, out, bias=False, norm_after=False):
        super().__init__()
        self.norm_after = norm_after  # Swin V2: the linear, then LayerNorm(out)
        self.norm = nn.LayerNorm(out if norm_after else 4 * channels)
        self.reduction = nn.Linear(4 * channels, out, bias=bias)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        h, w = x.shape[1], x.shape[2]
        x = nn.functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                      -1)
        if self.norm_after:
            return self.norm(self.reduction(x)).permute(0, 3, 1, 2)
        return self.reduction(self.norm(x)).permute(0, 3, 1, 2)
""",
    "SelfAttention": """
class SelfAttention(nn.Module):
    \"\"\"Multi-head self-attention over the positions of an N×C×… tensor, or within windows
    (shifted and masked, Swin) or over a grid (MaxViT), with an optional relative-position bias
    table or made by an MLP from the offsets (Swin V2), and Swin V2's scaled cosine attention.
    Both products are explicit matmuls, which FlopCounterMode counts.\"\"\"

    def __init__(self, channels, heads, window=None, shift=None, grid=False,
                 position_bias=False, bias=True, proj_bias=True, cosine=False, bias_mlp=None):
        super().__init__()
        self.heads, self.window, self.shift, self.grid = heads, window, shift, grid
        self.qkv = nn.Linear(channels, 3 * channels, bias=bias)
        self.proj = nn.Linear(channels, channels, bias=proj_bias)
        self.relative_position_bias_table = None
        self.cpb_mlp = None
        self.logit_scale = None
        if cosine:  # torchvision's ShiftedWindowAttentionV2
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        if bias_mlp is not None:
            self.cpb_mlp = nn.Sequential(nn.Linear(len(window), bias_mlp), nn.ReLU(inplace=True),
                                         nn.Linear(bias_mlp, heads, bias=False))
            axes = [torch.arange(-(w - 1), w, dtype=torch.float32) / max(w - 1, 1) * 8
                    for w in window]
            table = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)[None]
            table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0
            self.register_buffer("relative_coords_table", table, persistent=False)
        if position_bias or bias_mlp is not None:
            rows = 1
            for w in window:
                rows *= 2 * w - 1
            if bias_mlp is None:
                self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, heads))
            grids = torch.meshgrid(*[torch.arange(w) for w in window], indexing="ij")
            coords = torch.stack(grids).flatten(1)
            rel = coords[:, :, None] - coords[:, None, :]
            index = torch.zeros(rel.shape[1:], dtype=torch.long)
            for axis, w in enumerate(window):
                index = index * (2 * w - 1) + rel[axis] + w - 1
            self.register_buffer("relative_position_index", index, persistent=False)

    def _pairs(self, sizes, window):
        pairs = []
        for s, w in zip(sizes, window):
            pairs += [w, s // w] if self.grid else [s // w, w]
        return pairs

    def _order(self, rank):
        groups = [1 + 2 * i + (1 if self.grid else 0) for i in range(rank)]
        tokens = [1 + 2 * i + (0 if self.grid else 1) for i in range(rank)]
        return [0, *groups, *tokens, 2 * rank + 1]

    def _partition(self, x, sizes, window):
        n, c, rank = x.shape[0], x.shape[-1], len(sizes)
        count = 1
        for w in window:
            count *= w
        x = x.reshape(n, *self._pairs(sizes, window), c)
        return x.permute(*self._order(rank)).reshape(-1, count, c)

    def _departition(self, x, n, sizes, window):
        rank, c = len(sizes), x.shape[-1]
        pairs, order = self._pairs(sizes, window), self._order(rank)
        x = x.reshape(n, *[pairs[i - 1] for i in order[1:-1]], c)
        return x.permute(*[order.index(i) for i in range(len(order))]).reshape(n, *sizes, c)

    def _mask(self, sizes, window, shift):
        ids = torch.zeros(1, *sizes, 1)
        for axis, (s, w, sh) in enumerate(zip(sizes, window, shift)):
            if sh:
                label = torch.zeros(s)
                label[s - w: s - sh] = 1.0
                label[s - sh:] = 2.0
                view = [1] * (len(sizes) + 2)
                view[axis + 1] = s
                ids = ids * 3.0 + label.reshape(view)
        win = self._partition(ids, sizes, window)[..., 0]
        return (win[:, :, None] != win[:, None, :]).to(torch.float32) * -100.0

    def forward(self, x):
        n, c = x.shape[:2]
        sizes = list(x.shape[2:])
        rank = len(sizes)
        dims = list(range(1, rank + 1))
        x = x.permute(0, *range(2, rank + 2), 1)
        window = list(self.window) if self.window is not None else sizes
        padded, shift = sizes, [0] * rank
        if not self.grid:
            pads = [(-s) % w for s, w in zip(sizes, window)]
            flat = []
            for p in reversed(pads):
                flat += [0, p]
            x = nn.functional.pad(x, [0, 0] + flat)
            padded = [s + p for s, p in zip(sizes, pads)]
            shift = [0 if w >= s else sh for sh, w, s in
                     zip(self.shift or [0] * rank, window, padded)]
        if any(shift):
            x = torch.roll(x, [-s for s in shift], dims=dims)
        xw = self._partition(x, padded, window).contiguous()  # one addmm (as TokenMLP)
        b, t, _ = xw.shape
        d = c // self.heads
        if self.logit_scale is not None:  # V2, as torchvision: F.linear with no k bias
            qkv_bias = self.qkv.bias
            if qkv_bias is not None:
                qkv_bias = qkv_bias.clone()
                qkv_bias[c:2 * c].zero_()
            qkv = nn.functional.linear(xw, self.qkv.weight, qkv_bias)
        else:  # the module itself, so that the tools' module hooks see it
            qkv = self.qkv(xw)
        qkv = qkv.reshape(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.logit_scale is not None:
            normalize = nn.functional.normalize
            attn = torch.matmul(normalize(q, dim=-1), normalize(k, dim=-1).transpose(-2, -1))
            attn = attn * torch.clamp(self.logit_scale, max=4.605170185988092).exp()  # log 100
        else:
            attn = torch.matmul(q * d ** -0.5, k.transpose(-2, -1))
        if self.relative_position_bias_table is not None:
            table = self.relative_position_bias_table[self.relative_position_index.flatten()]
            attn = attn + table.reshape(t, t, -1).permute(2, 0, 1)
        if self.cpb_mlp is not None:
            table = self.cpb_mlp(self.relative_coords_table).reshape(-1, self.heads)
            table = table[self.relative_position_index.flatten()]
            attn = attn + 16 * torch.sigmoid(table.reshape(t, t, -1).permute(2, 0, 1).contiguous())
        if any(shift):
            mask = self._mask(padded, window, shift).to(attn.dtype)
            attn = attn + mask.repeat(n, 1, 1)[:, None]
        out = torch.matmul(attn.softmax(-1), v).transpose(1, 2).reshape(b, t, c)
        x = self._departition(self.proj(out), n, padded, window)
        if any(shift):
            x = torch.roll(x, shift, dims=dims)
        x = x[(slice(None), *[slice(0, s) for s in sizes])]
        return x.permute(0, rank + 1, *dims)
""",
}
