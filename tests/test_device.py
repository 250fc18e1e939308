"""Devices as PyTorch users write them: "cpu" works everywhere, accelerators raise a clear error."""

import pickle

import pytest

import backprop as bp
from backprop import nn

FACTORIES = [
    lambda d: bp.zeros(2, 3, device=d),
    lambda d: bp.ones(2, device=d),
    lambda d: bp.empty(2, device=d),
    lambda d: bp.rand(2, device=d),
    lambda d: bp.randn(2, device=d),
    lambda d: bp.full((2,), 1.5, device=d),
    lambda d: bp.arange(3, device=d),
    lambda d: bp.linspace(0, 1, 3, device=d),
    lambda d: bp.logspace(0, 1, 3, device=d),
    lambda d: bp.eye(2, device=d),
    lambda d: bp.randperm(3, device=d),
    lambda d: bp.randint(0, 5, (2,), device=d),
    lambda d: bp.tensor([1.0, 2.0], device=d),
    lambda d: bp.zeros_like(bp.ones(2), device=d),
    lambda d: bp.ones_like(bp.ones(2), device=d),
    lambda d: bp.empty_like(bp.ones(2), device=d),
    lambda d: bp.full_like(bp.ones(2), 3.0, device=d),
    lambda d: bp.rand_like(bp.ones(2), device=d),
    lambda d: bp.randn_like(bp.ones(2), device=d),
    lambda d: bp.randint_like(bp.ones(2), 4, device=d),
    lambda d: bp.Tensor([1.0], device=d),
    lambda d: bp.ones(2).to(d),
    lambda d: bp.ones(2).to(device=d),
    lambda d: bp.ones(2).to(d, bp.float64),
    lambda d: nn.Linear(2, 2, device=d),
    lambda d: nn.Linear(2, 2).to(d),
    lambda d: nn.Linear(2, 2).to(device=d),
]

CPU_SPELLINGS = ["cpu", "cpu:0", bp.device("cpu"), bp.device("cpu:0"), bp.device("cpu", 0), None]


@pytest.mark.parametrize("i", range(len(FACTORIES)))
def test_every_factory_and_to_accepts_the_cpu_in_every_spelling(i):
    for d in CPU_SPELLINGS:
        out = FACTORIES[i](d)
        if isinstance(out, bp.Tensor):
            assert out.device == bp.device("cpu") and not out.is_cuda and out.is_cpu


@pytest.mark.parametrize("i", range(len(FACTORIES)))
def test_every_factory_and_to_refuses_accelerators_clearly(i):
    for d in ["cuda", "cuda:0", "mps", bp.device("cuda"), bp.device("cuda", 1), 0]:
        with pytest.raises(TypeError, match="CPU only"):
            FACTORIES[i](d)


def test_device_objects_print_compare_and_hash_like_torch():
    cpu = bp.device("cpu")
    assert str(cpu) == "cpu" and repr(cpu) == "device(type='cpu')"
    assert cpu.type == "cpu" and cpu.index is None
    zero = bp.device("cpu:0")
    assert zero == bp.device("cpu", 0) and zero.index == 0 and str(zero) == "cpu:0"
    assert repr(zero) == "device(type='cpu', index=0)"
    assert cpu != zero and cpu == bp.device(cpu) and len({cpu, bp.device("cpu")}) == 1
    assert pickle.loads(pickle.dumps(zero)) == zero
    assert bp.ones(1).device == cpu and bp.ones(1).get_device() == -1
    with pytest.raises(ValueError, match="not a device"):
        bp.device("gpu")
    with pytest.raises(ValueError, match="invalid device string"):
        bp.device("cpu:x")
    with pytest.raises(TypeError, match="expected a string"):
        bp.device(3.5)
    with cpu:
        assert bp.zeros(1).device == cpu


def test_device_matches_torch():
    torch = pytest.importorskip("torch")
    for args in [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda",), ("cuda:1",), ("mps",)]:
        ours, theirs = bp.device(*args), torch.device(*args)
        assert (str(ours), repr(ours), ours.type, ours.index) == (str(theirs), repr(theirs), theirs.type, theirs.index)
    assert (bp.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")


def test_cuda_mps_and_accelerator_answer_as_a_cpu_only_torch():
    assert bp.cuda.is_available() is False and bp.cuda.device_count() == 0
    assert bp.backends.mps.is_available() is False
    assert bp.accelerator.is_available() is False and bp.accelerator.current_accelerator() is None
    bp.cuda.manual_seed_all(0)  # seeding every device is a no-op without CUDA, as in PyTorch
    with pytest.raises(TypeError, match="CPU only"):
        bp.cuda.current_device()
    import backprop.cuda as cuda_module

    assert cuda_module is bp.cuda
    # The idiom every tutorial starts with.
    device = bp.device("cuda" if bp.cuda.is_available() else "cpu")
    x = bp.tensor([1.0, 2.0], device=device).to(device, non_blocking=True)
    assert x.device == device


def test_default_device_is_the_cpu_and_only_the_cpu():
    bp.set_default_device("cpu")
    bp.set_default_device(None)
    assert bp.get_default_device() == bp.device("cpu")
    with pytest.raises(TypeError, match="CPU only"):
        bp.set_default_device("cuda")


def test_tensor_cpu_cuda_and_to_forms():
    x = bp.ones(2, requires_grad=True)
    assert x.cpu() is x or x.cpu().data_ptr() == x.data_ptr()
    assert x.to("cpu").data_ptr() == x.data_ptr()
    assert x.to("cpu", copy=True).data_ptr() != x.data_ptr()
    assert x.to(bp.float64).dtype == bp.float64
    assert x.to("cpu", bp.float64).dtype == bp.float64
    assert x.to(device="cpu", dtype=bp.float64, non_blocking=True).dtype == bp.float64
    assert x.to(bp.zeros(1, dtype=bp.int64)).dtype == bp.int64
    with pytest.raises(TypeError, match="CPU only"):
        x.cuda()
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to(colour="red")


def test_module_to_cpu_and_cuda():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    assert net.to(bp.device("cpu")) is net and net.cpu() is net
    assert net.to(bp.device("cpu:0"), bp.float64) is net and net[0].weight.dtype == bp.float64
    assert net.to("cpu", non_blocking=True) is net
    with pytest.raises(TypeError, match="CPU only"):
        net.cuda()
    with pytest.raises(TypeError, match="CPU only"):
        net.to(bp.device("mps"))
