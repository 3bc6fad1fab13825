"""Transformer decoding against Hugging Face ``generate`` on an encoder-decoder of the same size (issue 28).

    python benchmarks/decode_vs_generate.py [--batches 1,32,256] [--max-len 20] [--src-len 10]
        [--device cpu|cuda] [--threads N] [--bf16] [--compile] [--out FILE]

Both sides are 3 + 3 layer Transformers of width 256 (4 heads, feed-forward 1024) over a word
vocabulary of 9,518: textvae's ``yelp_ibt_transformer`` architecture (``style_seq2seq``) and a
``transformers`` BART built from a ``BartConfig`` of those sizes (random weights on both sides: speed
does not depend on what the weights learnt). Each output layer is scaled so that next-token
distributions have the entropy of the trained Yelp LM (3.7 nats) and its EOS logit is pushed to
-1e4, so every sentence is exactly ``max_len`` tokens on both sides (checked). The same random
source sentences of ``src_len`` tokens go to both; the encoder's pass is timed on both sides.
Strategies: greedy, beam 5 (length penalty 1) and top-p 0.9 (top-k off), batch 1 / 32 / 256.

``generate`` runs as users run it: its default dynamic key-value cache, eager; on a GPU also with
its static cache, with which it compiles its forward with ``torch.compile`` by itself
(``cache_implementation="static"``, the configuration its docs recommend for speed), and textvae with its CUDA fast path (bf16 + CUDA graphs).

``--bf16`` runs both sides under bf16 autocast (textvae's ``amp="bf16"``, ``generate`` inside
``torch.autocast``), for CPUs with native bf16. ``--compile`` adds a column for textvae with
``compile=True`` (``torch.compile`` of the decoder step; its compiling call is untimed).

Targets (issue 28): CPU greedy and beam >= 2x ``generate`` at batch 32 and 256; GPU >= 5x
``generate`` eager and >= 1.5x ``generate`` with static cache and compile.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from textvae.config import load_recipe
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID
from textvae.decoding import DecodeOptions, decode
from textvae.errors import run_script
from textvae.models import build_model
from textvae.runtime import keep_freed_memory

from decode import scale_to_entropy, sync, timed
from train_throughput import cpu_name

VOCAB = 9518
RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "yelp_ibt_transformer.yaml"


def build_textvae(device, src, lengths):
    config = load_recipe(RECIPE, ["model.dropout=0.0", "model.encoder.dropout=0.0", "model.decoder.dropout=0.0",
                                  "model.noise.word_dropout=0.0"])
    torch.manual_seed(0)
    model = build_model(config.model, VOCAB).to(device).eval()
    styles = torch.zeros(src.size(0), dtype=torch.long, device=device)
    with torch.no_grad():
        model.decoder.out.bias[EOS_ID] = -1e4

    def first_logits():
        with torch.inference_mode():
            context = model.decoder_context(src, lengths, styles)
            logits, _ = model.decoder.step(model.decoder.initial_state(context), torch.full_like(styles, BOS_ID))
            return logits

    scale_to_entropy(model.decoder.out.weight, first_logits)
    return model


def build_bart(device, src):
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(vocab_size=VOCAB, d_model=256, encoder_layers=3, decoder_layers=3, encoder_attention_heads=4,
                        decoder_attention_heads=4, encoder_ffn_dim=1024, decoder_ffn_dim=1024,
                        max_position_embeddings=128, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                        pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=EOS_ID, decoder_start_token_id=BOS_ID,
                        forced_eos_token_id=None, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = BartForConditionalGeneration(config).to(device).eval()
    with torch.no_grad():
        model.final_logits_bias[0, EOS_ID] = -1e4
    start = torch.full((src.size(0), 1), BOS_ID, device=device)

    def first_logits():
        with torch.inference_mode():
            return model(input_ids=src, decoder_input_ids=start).logits[:, -1]

    scale_to_entropy(model.lm_head.weight, first_logits)
    return model


def generation_config(strategy: str, max_len: int, **extra):
    from transformers import GenerationConfig

    settings = {"greedy": dict(do_sample=False, num_beams=1),
                "beam 5": dict(do_sample=False, num_beams=5, length_penalty=1.0, early_stopping=False),
                "top-p 0.9": dict(do_sample=True, top_p=0.9, top_k=0, num_beams=1)}[strategy]
    return GenerationConfig(max_new_tokens=max_len, min_new_tokens=0, pad_token_id=PAD_ID, eos_token_id=EOS_ID,
                            bos_token_id=BOS_ID, decoder_start_token_id=BOS_ID, **settings, **extra)


def textvae_options(strategy: str, batch: int, fast: bool, bf16: bool = False, compile: bool = False) -> DecodeOptions:
    base = dict(batch_size=batch, amp="bf16" if fast or bf16 else "none", cuda_graphs=fast, compile=compile)
    return {"greedy": DecodeOptions(**base),
            "beam 5": DecodeOptions(strategy="beam", beam_size=5, **base),
            "top-p 0.9": DecodeOptions(strategy="sample", top_p=0.9, **base)}[strategy]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--max-len", type=int, default=20)
    parser.add_argument("--src-len", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bf16", action="store_true", help="both sides under bf16 autocast")
    parser.add_argument("--compile", action="store_true", help="also time textvae with compile=True")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    args = parser.parse_args()
    keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    import transformers

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    print(f"{name} ({platform.machine()}), torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} threads; {args.max_len} tokens a sentence, sources of {args.src_len}; "
          f"{'bf16 autocast on both sides' if args.bf16 else 'fp32'}", flush=True)
    generator = torch.Generator().manual_seed(0)
    rows = []
    print("| batch | strategy | textvae sent/s | generate sent/s | ratio |" +
          (" textvae compiled | compiled / generate |" if args.compile else "") +
          (" textvae fast path | generate static + compile | fast / compiled |" if device.type == "cuda" else ""))
    print("|---:|---|---:|---:|---:|" + ("---:|---:|" if args.compile else "") +
          ("---:|---:|---:|" if device.type == "cuda" else ""))
    for batch in [int(b) for b in args.batches.split(",")]:
        src = torch.randint(4, VOCAB, (batch, args.src_len), generator=generator).to(device)
        lengths = torch.full((batch,), args.src_len, device=device)
        ours_model, bart = build_textvae(device, src, lengths), build_bart(device, src)
        styles = torch.zeros(batch, dtype=torch.long, device=device)
        mask = torch.ones_like(src)

        def run_ours(options):
            with torch.inference_mode():
                ids, _ = decode(ours_model.decoder, ours_model.decoder_context(src, lengths, styles), options,
                                max_len=args.max_len)
            return ids

        def run_generate(config, **extra):
            with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                return bart.generate(input_ids=src, attention_mask=mask, generation_config=config, **extra)

        for strategy in ("greedy", "beam 5", "top-p 0.9"):
            options = textvae_options(strategy, batch, fast=False, bf16=args.bf16)
            config = generation_config(strategy, args.max_len)
            ours_ids, theirs = run_ours(options), run_generate(config)
            assert all(len(seq[0]) == args.max_len for seq in ours_ids), "textvae: not every sentence is max_len long"
            assert theirs.shape[1] == args.max_len + 1, f"generate wrote {theirs.shape[1] - 1} tokens, not {args.max_len}"
            ours = batch / timed(lambda: run_ours(options), device)
            plain = batch / timed(lambda: run_generate(config), device)
            row = {"batch": batch, "strategy": strategy, "textvae": ours, "generate": plain}
            line = f"| {batch} | {strategy} | {ours:.0f} | {plain:.0f} | {ours / plain:.2f}x |"
            if args.compile:
                compiled_options = textvae_options(strategy, batch, fast=False, bf16=args.bf16, compile=True)
                run_ours(compiled_options)  # compiles (untimed)
                ours_compiled = batch / timed(lambda: run_ours(compiled_options), device)
                row["textvae_compiled"] = ours_compiled
                line += f" {ours_compiled:.0f} | {ours_compiled / plain:.2f}x |"
            if device.type == "cuda":
                fast_options = textvae_options(strategy, batch, fast=True)
                # a static cache makes generate compile the forward on GPUs by itself (its first call, untimed)
                static = generation_config(strategy, args.max_len, cache_implementation="static")
                fast = batch / timed(lambda: run_ours(fast_options), device)
                compiled = batch / timed(lambda: run_generate(static), device, min_seconds=3.0)
                row.update(textvae_fast=fast, generate_static_compiled=compiled)
                line += f" {fast:.0f} | {compiled:.0f} | {fast / compiled:.2f}x |"
            rows.append(row)
            print(line, flush=True)
        sync(device)
    if args.out:
        Path(args.out).write_text(json.dumps({"device": name, "threads": torch.get_num_threads(), "bf16": args.bf16,
                                              "max_len": args.max_len, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    run_script(main)
