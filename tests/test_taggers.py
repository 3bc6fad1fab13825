"""Tag sources (textvae.data.tags): a local spaCy pipeline tags words in context; a model takes
each word's most frequent tag; bad specs are one line before any work (issues 21 and 25).

The spaCy pipeline is built here (a blank English pipeline with an attribute ruler whose patterns
set POS from the neighbouring word), since no trained pipeline can be downloaded in the tests (spaCy is in the dev extra)."""

import os

import pytest

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.tags import TAG_IDS, factor_lexicon, load_tagger
from textvae.errors import TextvaeError
from textvae.training import train

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A spaCy pipeline directory: a word after 'the'/'a' is a NOUN, after 'to' a VERB; a few
    closed-class words and adjectives by their form."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    for words, pos in ((("the", "a"), "DET"), (("to",), "PART"), (("was", "is", "were", "are"), "AUX"),
                       ((".", "!", "?"), "PUNCT"), (("good", "great", "bad", "rude", "friendly"), "ADJ")):
        ruler.add([[{"LOWER": {"IN": list(words)}}]], {"POS": pos})
    ruler.add([[{"LOWER": {"IN": ["the", "a"]}}, {"IS_ALPHA": True, "POS": ""}]], {"POS": "NOUN"}, index=1)
    ruler.add([[{"LOWER": "to"}, {"IS_ALPHA": True}]], {"POS": "VERB"}, index=1)
    path = tmp_path_factory.mktemp("spacy") / "tiny_en"
    nlp.to_disk(path)
    return path


def test_a_spacy_pipeline_tags_each_word_in_its_context(pipeline):
    tagger = load_tagger(f"spacy:{pipeline}")
    tags = tagger.tag([["i", "want", "to", "book", "the", "book", "."], [], ["the", "food", "was", "good", "."]])
    assert tags[0] == ("X", "X", "PART", "VERB", "DET", "NOUN", "PUNCT")  # 'book' twice, two tags
    assert tags[1] == () and tags[2] == ("DET", "NOUN", "AUX", "ADJ", "PUNCT")
    lexicon = tagger.lexicon(["read the book .", "the book was good .", "go to book it ."])
    assert lexicon["book"] == "NOUN" and lexicon["to"] == "PART" and lexicon["go"] == "X"


def test_bad_tag_sources_are_one_line(pipeline, tmp_path):
    import spacy

    spacy.blank("en").to_disk(tmp_path / "no_pos")
    for spec, message in ((f"spacy:{tmp_path / 'missing'}", "not a directory with a spaCy pipeline"),
                          (f"spacy:{tmp_path / 'no_pos'}", "sets no part-of-speech tags"),
                          ("spacy:", "needs a pipeline directory"),
                          (str(tmp_path / "none.tsv"), "POS lexicon")):
        with pytest.raises(TextvaeError, match=message) as caught:
            load_tagger(spec)
        assert "\n" not in str(caught.value)


def test_the_multitask_pos_decoder_and_evaluate_syntax_take_a_spacy_pipeline(pipeline, tmp_path, capsys):
    out = tmp_path / "run"
    train(load_recipe(os.path.join(RECIPES, "factors_multitask.yaml"),
                      [f"model.pos_tags=spacy:{pipeline}", "data.path=factors:300", "train.max_steps=2",
                       "train.max_minutes=null", "train.eval_every=2", "train.checkpoint_every=2",
                       "model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16",
                       "model.latent.dim=8"]), out)
    model = textvae.load(out, device="cpu")
    ids = {model.tokenizer.id_to_piece(i).lstrip("\u2581"): i for i in range(len(model.tokenizer))}
    tags = model.model.token_tags.tolist()
    assert tags[ids["the"]] == TAG_IDS["DET"] and tags[ids["."]] == TAG_IDS["PUNCT"]
    nouns = [w for w, tag in factor_lexicon().items() if tag == "NOUN" and w in ids]  # always after 'the'
    assert len(nouns) > 10 and all(tags[ids[w]] == TAG_IDS["NOUN"] for w in nouns)
    assert main(["evaluate", "syntax", "--model", str(out), "--max-sentences", "100",
                 "--output", str(tmp_path / "s.json")]) == 0
    assert "templates over 100 sentences" in capsys.readouterr().out
    assert main(["evaluate", "syntax", "--model", str(out), "--output", str(tmp_path / "t.json"),
                 "--pos-tags", f"spacy:{tmp_path / 'missing'}"]) == 2
    assert not (tmp_path / "t.json").exists()
    assert "--pos-tags: spacy:" in capsys.readouterr().err


def test_melnyk_preserves_the_taggers_nouns(pipeline, tmp_path, capsys):
    overrides = ["data.path=synthetic:600", "train.max_steps=1", "train.max_minutes=null", "train.eval_every=1",
                 "train.checkpoint_every=1", "train.eval_transfer_sentences=0", "model.embedding_dim=16",
                 "model.encoder.hidden_size=16", "model.decoder.hidden_size=16"]
    recipe = os.path.join(RECIPES, "synthetic_melnyk.yaml")
    train(load_recipe(recipe, overrides + [f"model.content_tagger=spacy:{pipeline}"]), tmp_path / "nouns")
    model = textvae.load(tmp_path / "nouns", device="cpu")
    kept = {model.tokenizer.id_to_piece(i).lstrip("\u2581")
            for i in model.model.is_content.nonzero().flatten().tolist()}
    assert {"salad", "burger", "pool"} <= kept and not kept & {"the", "was", "dreadful", "wonderful", ","}
    assert main(["train", recipe, "--out", str(tmp_path / "bad"), *overrides,
                 f"model.content_tagger=spacy:{tmp_path / 'missing'}"]) == 2
    assert "model.content_tagger" in capsys.readouterr().err and not (tmp_path / "bad").exists()
