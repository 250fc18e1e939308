"""physics: differentiate a whole simulation, written as a plain Python loop over backprop tensors.

A ball (0.45 kg, radius 5 cm, drag coefficient 0.47, in air of 1.2 kg/m^3) is launched at 50 m/s
and flies under gravity and quadratic drag, a = -g y_hat - k |v| v, integrated for 1000 steps of
10 ms in float64. Backward through the 1000 steps gives d(range)/d(angle), which central finite
differences confirm; gradient ascent on the angle then finds the best launch angle, below the
45 degrees of flight without drag, and a grid search over thousands of angles agrees.
"""

import math
import time

import numpy as np

import backprop as bp

V0, G, DT, STEPS = 50.0, 9.81, 0.01, 1000
MASS, RADIUS, CD, RHO = 0.45, 0.05, 0.47, 1.2
K = RHO * CD * math.pi * RADIUS**2 / (2 * MASS)  # drag acceleration per (m/s)^2
FD_STEP = 1e-6
ASCENT_LR = 2.5e-3  # below 2/|d2R/dtheta2| everywhere on the way, near 1/|d2R/dtheta2| at the optimum


def simulate(angle):
    """Flies one ball per element of `angle` (radians); returns the positions at every step, each
    of shape angle.shape: xs, ys."""
    vx, vy = V0 * bp.cos(angle), V0 * bp.sin(angle)
    x, y = angle * 0.0, angle * 0.0
    xs, ys = [x], [y]
    for _ in range(STEPS):
        speed = bp.sqrt(vx * vx + vy * vy)
        # Semi-implicit Euler: the new velocity moves the ball.
        vx = vx - DT * K * speed * vx
        vy = vy - DT * (K * speed * vy + G)
        x = x + DT * vx
        y = y + DT * vy
        xs.append(x)
        ys.append(y)
    return xs, ys


def landing(xs, ys):
    """Where each ball crosses y = 0, interpolated linearly between the two steps around it. The
    crossing step is chosen outside the graph; the interpolation is differentiable."""
    X, Y = bp.stack(xs), bp.stack(ys)  # (STEPS + 1, *angle.shape)
    flat_y = Y.detach().numpy().reshape(STEPS + 1, -1)
    below = flat_y[1:] < 0
    if not below.any(axis=0).all():
        raise RuntimeError("physics: a ball was still in the air after the last step; simulate more steps")
    i = below.argmax(axis=0) + 1
    cols = np.arange(flat_y.shape[1])
    Xf, Yf = X.reshape(STEPS + 1, -1), Y.reshape(STEPS + 1, -1)
    x0, x1, y0, y1 = Xf[i - 1, cols], Xf[i, cols], Yf[i - 1, cols], Yf[i, cols]
    return x0 + (x1 - x0) * y0 / (y0 - y1), i


def flight_range(angle):
    r, _ = landing(*simulate(angle))
    return r.sum()


def gradient(angle_value):
    angle = bp.tensor(angle_value, dtype=bp.float64, requires_grad=True)
    t0 = time.perf_counter()
    r = flight_range(angle)
    t1 = time.perf_counter()
    r.backward()
    t2 = time.perf_counter()
    return r.item(), angle.grad.item(), t1 - t0, t2 - t1


def run(report):
    quick = report.quick
    start = math.radians(30.0)
    r, g, fwd, bwd = gradient(start)
    with bp.no_grad():
        up = flight_range(bp.tensor(start + FD_STEP, dtype=bp.float64)).item()
        down = flight_range(bp.tensor(start - FD_STEP, dtype=bp.float64)).item()
    fd = (up - down) / (2 * FD_STEP)
    rel = abs(g - fd) / abs(fd)
    report.say(f"v0 = {V0:g} m/s, k = {K:.3e} 1/m, {STEPS} steps of {DT:g} s in float64: "
               f"forward {fwd * 1e3:.0f} ms, backward {bwd * 1e3:.0f} ms")
    report.table(("at 30 degrees", "range (m)", "d(range)/d(angle) (m/rad)"),
                 [("backward", r, f"{g:.12g}"), (f"central differences, h={FD_STEP:g}", None, f"{fd:.12g}"),
                  ("relative difference", None, rel)])
    report.figures.update({"v0": V0, "k": K, "dt": DT, "steps": STEPS, "range_30deg": r, "grad_backward": g,
                           "grad_finite_differences": fd, "relative_error": rel, "forward_s": fwd,
                           "backward_s": bwd})
    report.claim(f"backward's d(range)/d(angle) matches finite differences (relative difference {rel:.1e})",
                 rel < 1e-6)

    # Gradient ascent on the angle.
    theta, path = start, []
    for _ in range(12 if quick else 30):
        r, g, _, _ = gradient(theta)
        path.append((math.degrees(theta), r, g))
        if abs(ASCENT_LR * g) < 1e-6:  # the next step would move the angle by under 1e-6 rad
            break
        theta += ASCENT_LR * g
    best_ascent = path[-1]

    # Grid search: every angle of the grid flies at once, as one batch of tensors.
    spacing = 0.1 if quick else 0.01
    grid = np.arange(30.0, 50.0 + spacing / 2, spacing)
    t0 = time.perf_counter()
    with bp.no_grad():
        ranges, _ = landing(*simulate(bp.tensor(np.radians(grid))))
    grid_seconds = time.perf_counter() - t0
    ranges = ranges.numpy()
    j = int(np.argmax(ranges))
    report.table(("search", "angle (deg)", "range (m)", "evaluations"),
                 [("gradient ascent from 30 deg", f"{best_ascent[0]:.3f}", f"{best_ascent[1]:.4f}", len(path)),
                  (f"grid, {spacing:g} deg steps", f"{grid[j]:.3f}", f"{ranges[j]:.4f}", len(grid))])
    report.figures.update({"ascent": [{"angle_deg": a, "range": rr, "grad": gg} for a, rr, gg in path],
                           "ascent_angle_deg": best_ascent[0], "grid_spacing_deg": spacing,
                           "grid_angle_deg": float(grid[j]), "grid_range": float(ranges[j]),
                           "grid_seconds": grid_seconds})
    report.claim(f"gradient ascent finds {best_ascent[0]:.3f} degrees in {len(path)} steps; the grid's best is "
                 f"{grid[j]:.{2 if spacing < 0.1 else 1}f} degrees", abs(best_ascent[0] - grid[j]) <= spacing)
    plot(report, grid, ranges, path)


def plot(report, grid, ranges, path):
    plt = report.pyplot()
    if plt is None:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    with bp.no_grad():
        for deg in (20.0, 45.0, 65.0, path[-1][0]):
            xs, ys = simulate(bp.tensor(math.radians(deg), dtype=bp.float64))
            x, y = np.array([v.item() for v in xs]), np.array([v.item() for v in ys])
            keep = np.concatenate([[True], y[1:] >= 0])
            best = deg == path[-1][0]
            ax1.plot(x[keep], y[keep], lw=2 if best else 1, label=f"{deg:.1f} deg" + (" (best)" if best else ""))
    ax1.set_xlabel("x (m)")
    ax1.set_ylabel("height (m)")
    ax1.set_title("trajectories with quadratic drag", fontsize=10)
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.plot(grid, ranges, color="0.5", label="grid search")
    ax2.plot([p[0] for p in path], [p[1] for p in path], "o-", color="C3", ms=4, label="gradient ascent")
    ax2.set_xlabel("launch angle (deg)")
    ax2.set_ylabel("range (m)")
    ax2.set_title("range against angle", fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    report.save_figure(fig, plt)
