import pytest
import torch

from networks import ARCHITECTURES, PretrainedWeightsUnavailable, build_model, last_linear, trainable_parameters


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v3_small", "efficientnet_b0"])
def test_each_family_gets_a_new_head_for_our_classes(arch):
    model = build_model(arch, num_classes=7).eval()

    with torch.inference_mode():
        logits = model(torch.zeros(2, 3, 32, 32))

    assert logits.shape == (2, 7)
    assert last_linear(model)[1].out_features == 7


def test_frozen_backbone_trains_only_the_head():
    model = build_model("resnet18", num_classes=4, freeze_backbone=True)

    assert [p.shape for p in trainable_parameters(model)] == [(4, 512), (4,)]
    assert len(trainable_parameters(build_model("resnet18", num_classes=4))) > 2


def test_unknown_arch_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown arch 'vgg11'; allowed: " + ", ".join(ARCHITECTURES)):
        build_model("vgg11", num_classes=3)


def test_pretrained_without_reachable_weights_fails_instead_of_training_from_scratch(tmp_path, monkeypatch):
    # An empty hub cache and a proxy on a closed loopback port: the download is attempted and fails
    # without any traffic leaving this machine.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)

    with pytest.raises(PretrainedWeightsUnavailable, match=r"ImageNet weights of resnet18 \(https://.*resnet18-.*\.pth\)"
                       r" but they could not be loaded: .* or train with --pretrained false"):
        build_model("resnet18", num_classes=10, pretrained=True)
