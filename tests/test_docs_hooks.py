"""docs/hooks.md is generated from hub/contract/hookspecs.py and must be up to date."""

from pathlib import Path

from hub.contract import hooks_reference as docs_hooks

ROOT = Path(__file__).resolve().parents[1]


def test_docs_hooks_md_is_up_to_date():
    committed = (ROOT / docs_hooks.DOC_PATH).read_text(encoding="utf-8")
    assert committed == docs_hooks.render(), \
        "docs/hooks.md is stale: run `python -m hub.contract.hooks_reference > docs/hooks.md`"


def test_every_hook_is_in_the_reference_with_its_semantics():
    text = docs_hooks.render()
    names = docs_hooks.hook_names()
    assert "hub_pull_assets" in names and "hub_count_assets" in names
    for name in names:
        assert f"### `{name}`" in text
    push = text.split("### `hub_push_invoices`")[1].split("###")[0]
    assert "*Calling:* first result." in push
    count = text.split("### `hub_count_assets`")[1].split("###")[0]
    assert "*Calling:* all plugins answer." in count
