import pytest
import yaml

from textvae.config import Config, apply_overrides, from_dict, load_recipe
from textvae.errors import TextvaeError


def test_defaults_and_yaml_round_trip(tmp_path):
    config = load_recipe(None)
    assert isinstance(config, Config)
    path = tmp_path / "r.yaml"
    path.write_text(config.to_yaml())
    again = load_recipe(path)
    assert again.to_dict() == {**config.to_dict(), "name": config.name}


def test_recipe_name_defaults_to_file_stem(tmp_path):
    path = tmp_path / "my_recipe.yaml"
    path.write_text("train: {lr: 0.01}\n")
    config = load_recipe(path)
    assert config.name == "my_recipe"
    assert config.train.lr == 0.01


def test_dotted_overrides_are_typed():
    config = load_recipe(None, ["train.max_steps=7", "model.encoder.type=lstm", "train.lr=1e-4",
                                "data.label_names=[neg, pos]", "train.max_minutes=null",
                                "model.encoder.bidirectional=false"])
    assert config.train.max_steps == 7
    assert config.model.encoder.type == "lstm"
    assert config.train.lr == pytest.approx(1e-4)
    assert config.data.label_names == ["neg", "pos"]
    assert config.train.max_minutes is None
    assert config.model.encoder.bidirectional is False


def test_off_and_no_are_words_not_booleans(tmp_path):
    """YAML 1.1 reads off/on/yes/no as booleans; recipes keep them as the words they are."""
    assert load_recipe(None, ["train.amp=off"]).train.amp == "off"
    path = tmp_path / "r.yaml"
    path.write_text("train: {amp: off}\nmodel: {decoder: {tie_embeddings: true}}\n")
    config = load_recipe(path)
    assert config.train.amp == "off" and config.model.decoder.tie_embeddings is True
    assert load_recipe(None, ["model.decoder.tie_embeddings=false"]).model.decoder.tie_embeddings is False


def test_int_is_accepted_for_float_but_not_the_reverse():
    assert load_recipe(None, ["train.lr=1"]).train.lr == 1.0
    with pytest.raises(TextvaeError, match="train.max_steps.*int"):
        load_recipe(None, ["train.max_steps=1.5"])


@pytest.mark.parametrize("override, pattern", [
    ("train.learning_rate=0.1", "unknown recipe key 'train.learning_rate'"),
    ("model.encoder.type=transformerx", "model.encoder.type' must be one of"),
    ("train.grad_clip=abc", "'train.grad_clip' expects float"),
    ("model.encoder.bidirectional=3", "'model.encoder.bidirectional' expects bool"),
    ("train.lr.x=1", "'train.lr' expects float"),
    ("nonsense", "must look like key.subkey=value"),
])
def test_bad_overrides_name_the_key(override, pattern):
    with pytest.raises(TextvaeError, match=pattern):
        load_recipe(None, [override])


def test_bad_recipe_files(tmp_path):
    with pytest.raises(TextvaeError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(TextvaeError, match="not valid YAML"):
        load_recipe(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3\n")
    with pytest.raises(TextvaeError, match="must be a mapping"):
        load_recipe(scalar)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("trian: {lr: 1}\n")
    with pytest.raises(TextvaeError, match="unknown recipe key 'trian'"):
        load_recipe(unknown)


def test_every_shipped_recipe_loads():
    import glob

    recipes = glob.glob("recipes/*.yaml")
    assert recipes
    for path in recipes:
        assert load_recipe(path).name


def test_from_dict_rejects_non_mapping_sections():
    with pytest.raises(TextvaeError, match="train must be a mapping"):
        from_dict(Config, {"train": 3})


def test_apply_overrides_creates_sections():
    assert apply_overrides({}, ["a.b.c=1"]) == {"a": {"b": {"c": 1}}}
    assert yaml.safe_load(load_recipe(None).to_yaml())["train"]["optimizer"] == "adam"


def test_a_recipe_can_start_from_a_base_recipe(tmp_path):
    (tmp_path / "parent.yaml").write_text("train: {lr: 0.01, max_steps: 7}\nmodel: {dropout: 0.2, embedding_dim: 32}\n")
    (tmp_path / "variants").mkdir()
    child = tmp_path / "variants" / "child.yaml"
    child.write_text("base: ../parent.yaml\ntrain: {lr: 0.5}\n")
    config = load_recipe(child, ["model.dropout=0.3"])
    assert config.name == "child"  # its own name, not the base's
    assert (config.train.lr, config.train.max_steps) == (0.5, 7)  # sections merge key by key
    assert (config.model.dropout, config.model.embedding_dim) == (0.3, 32)
    grandchild = tmp_path / "grandchild.yaml"
    grandchild.write_text("base: variants/child.yaml\nname: g\n")
    assert (load_recipe(grandchild).name, load_recipe(grandchild).train.lr) == ("g", 0.5)


def test_bad_base_recipes(tmp_path):
    loop_a, loop_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    loop_a.write_text("base: b.yaml\n")
    loop_b.write_text("base: a.yaml\n")
    with pytest.raises(TextvaeError, match="leads back to itself"):
        load_recipe(loop_a)
    missing = tmp_path / "m.yaml"
    missing.write_text("base: nowhere.yaml\n")
    with pytest.raises(TextvaeError, match="nowhere.yaml does not exist"):
        load_recipe(missing)
    wrong = tmp_path / "w.yaml"
    wrong.write_text("base: [a.yaml]\n")
    with pytest.raises(TextvaeError, match="'base' must be the file name"):
        load_recipe(wrong)


@pytest.mark.parametrize("family", ["vae", "dae"])
def test_ablation_recipes_switch_off_only_their_losses(family):
    full = load_recipe(f"recipes/yelp_disentangled_{family}.yaml")
    losses = ("multitask", "adversarial", "content_multitask", "content_adversarial")
    kept = {"ae": (), "mul": ("multitask",), "adv": ("adversarial",), "style": ("multitask", "adversarial")}
    for row, on in kept.items():
        config = load_recipe(f"recipes/yelp_disentangled_{family}_{row}.yaml")
        for loss in losses:
            expected = getattr(full.model.style, loss) if loss in on else 0
            assert getattr(config.model.style, loss) == expected, (row, loss)
        config.model.style = full.model.style
        assert {**config.to_dict(), "name": full.name} == full.to_dict()
