# A 1-D regression with a deeper network: Kaiming init, SiLU/ELU/Hardtanh activations,
# SmoothL1Loss, AdamW and a cosine schedule.
import math

import torch
import torch.nn as nn

torch.manual_seed(5)
x = torch.linspace(-2, 2, 256).unsqueeze(1)
y = torch.sin(3 * x) + 0.5 * x ** 2

model = nn.Sequential(
    nn.Linear(1, 64), nn.SiLU(),
    nn.Linear(64, 64), nn.ELU(),
    nn.Linear(64, 1), nn.Hardtanh(-3.0, 3.0),
)
for m in model.modules():
    if isinstance(m, nn.Linear):
        nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5))
        nn.init.zeros_(m.bias)
criterion = nn.SmoothL1Loss(beta=0.5)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=600)
for it in range(600):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
print("final loss:", loss.item())
