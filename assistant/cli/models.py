"""assistant models list|verify|prepare: find, check and derive the model files."""

from __future__ import annotations

from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import load_config
from assistant.models import ModelError, ModelRegistry


def register(sub) -> None:
    p = sub.add_parser("models", help="list, verify and prepare model files")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (
        ("list", "every model in the manifest, where it is, its licence"),
        ("verify", "check that every model is present and matches its sha256"),
        ("prepare", "derive converted and quantized copies (int8, ONNX from other formats)"),
    ):
        v = verbs.add_parser(verb, help=text)
        v.add_argument("names", nargs="*", metavar="NAME", help="only these models")
        if verb == "prepare":
            v.add_argument("--force", action="store_true", help="derive again even if present")
        add_config_flag(v)
        add_json_flag(v)
        v.set_defaults(func=run)


def run(args) -> int:
    registry = ModelRegistry.load(load_config(args.config).models)
    names = args.names or sorted(registry.entries)
    for n in names:
        registry.entry(n)  # unknown names fail before any work
    failed = 0
    if args.verb == "prepare":
        from tqdm import tqdm

        derived = [n for n in names if registry.entry(n).kind == "derived"]
        for n in tqdm(derived, desc="prepare", unit="model", disable=args.json or not derived):
            try:
                path = registry.prepare(n, force=args.force)
                emit({"name": n, "path": str(path), "state": "prepared"}, args.json, f"prepared {n}: {path}")
            except ModelError as e:
                failed += 1
                emit({"name": n, "state": "failed", "detail": str(e)}, args.json, f"FAILED {n}: {e}")
        return 1 if failed else 0
    for n in names:
        e = registry.entry(n)
        st = registry.status(n, check_hash=args.verb == "verify")
        ok = st.state in ("ok", "unpinned") if args.verb == "verify" else True
        failed += not ok
        row = {"name": n, "kind": st.kind, "state": st.state, "path": st.path, "licence": e.licence,
               "non_commercial": e.non_commercial, "contract": e.contract, "source": e.source or e.package,
               "detail": st.detail}
        use = "NON-COMMERCIAL" if e.non_commercial else "-"
        text = f"{n:28s} {st.state:9s} {e.kind:8s} {use:14s} {e.licence[:22]:22s} {st.path or st.detail}"
        emit(row, args.json, text)
    if failed:
        raise JobError(f"{failed} model(s) missing or not matching the manifest")
    return 0
