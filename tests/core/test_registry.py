import pytest

from core import toys
from webbcal.core import registry
from webbcal.errors import ParameterError


def test_lookup_by_alias_class_and_dotted_name():
    reg = toys.toy_registry()
    assert reg.get("calwebb_toy") is toys.ToyPipeline
    assert reg.get("ToyPipeline") is toys.ToyPipeline
    assert reg.get("jwst.pipeline.ToyPipeline") is toys.ToyPipeline
    assert reg.get("webbcal.pipelines.calwebb_toy.ToyPipeline") is toys.ToyPipeline
    assert reg.get("toypipeline") is toys.ToyPipeline
    assert reg.find("nothing") is None
    with pytest.raises(ParameterError, match="no step or pipeline is called 'nothing'"):
        reg.get("nothing")


def test_listing_order_pipelines_first():
    reg = toys.toy_registry()
    assert [c.alias for c in reg.classes()] == ["calwebb_toy", "combine", "scale", "shift", "split"]


def test_duplicate_alias_rejected():
    reg = toys.toy_registry()
    other = type("OtherStep", (toys.ScaleStep,), {"alias": "scale", "__module__": "elsewhere"})
    with pytest.raises(ValueError, match="already registered"):
        reg.add(other)


def test_use_swaps_current_registry():
    reg = toys.toy_registry()
    with registry.use(reg):
        assert registry.get("scale") is toys.ScaleStep
        assert registry.list_registered() == reg.classes()
    assert registry.current() is not reg


def test_loader_imports_listed_modules(monkeypatch):
    calls = []
    reg = registry.Registry(loader=lambda: calls.append(1))
    reg.find("x")
    reg.classes()
    assert calls == [1]


def test_default_registry_only_lists_working_modules():
    # every class of the default registry comes from a module listed in MODULES
    import webbcal.pipelines

    for cls in registry._default.classes():
        package, _, module = cls.__module__.rpartition(".")
        listed = __import__(package, fromlist=["MODULES"]).MODULES
        assert module in listed
    assert isinstance(webbcal.pipelines.MODULES, tuple)
