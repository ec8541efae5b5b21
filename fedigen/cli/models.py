"""`fedigen model`: pull a text-to-image model from the Hugging Face Hub, list them, choose one.

The models live in ``[generation] models_dir``; the chosen one is what the ``diffusers`` backend loads
(unless ``[generation.diffusers] model_dir`` names another). Requests go through the same guarded
client as federation (private addresses only where ``[federation] allow_private_addresses`` allows).
``HF_ENDPOINT`` points at another Hub (a mirror, or a server of one's own); ``HF_TOKEN`` is sent for
gated models.
"""

from __future__ import annotations

import click

from activitypub.transport import make_http_client
from fedigen.cli.common import fail, run_async, settings_of
from fedigen.config import Settings
from generation.hub import Hub, HubError, LocalModel, ModelStore


@click.group()
def model() -> None:
    """Models for the diffusers backend (Hugging Face Hub)."""


def _describe(found: LocalModel) -> str:
    mark = "*" if found.active else " "
    return f"{mark} {found.name}\t{found.commit[:12]}\t{found.size / 1e6:.1f} MB\t{found.path}"


@model.command("pull")
@click.argument("name")
@click.option("--revision", default="main", show_default=True, help="Branch, tag or commit.")
@click.option("--use", "use_it", is_flag=True, help="Make it the diffusers backend's model once pulled.")
@click.pass_context
def pull(ctx: click.Context, name: str, revision: str, use_it: bool) -> None:
    """Download a diffusers pipeline (resumable, checksum-verified) into [generation] models_dir."""
    settings = settings_of(ctx)
    store = ModelStore(settings.models_dir)
    found = run_async(_pull(settings, store, name, revision))
    click.echo(f"pulled {found.name} at {found.commit[:12]} ({found.size / 1e6:.1f} MB) into {found.path}")
    if use_it:
        store.use(name)
        click.echo(f"the diffusers backend now uses {name}")


async def _pull(settings: Settings, store: ModelStore, name: str, revision: str) -> LocalModel:
    http = make_http_client(
        allow_private_addresses=settings.federation.allow_private_addresses, user_agent=settings.user_agent,
        timeout=60.0,
    )  # fmt: skip
    bar = _Bar()
    try:
        return await store.pull(Hub(http), name, revision, bar.show)
    finally:
        bar.close()
        await http.aclose()


class _Bar:
    """One progress line per file on stderr, redrawn in place:
    ``[##########..........]  52%  12.3/23.7 MB  unet/diffusion_pytorch_model.safetensors``."""

    def __init__(self) -> None:
        self.file = ""
        self.percent = -1

    def show(self, file: str, done: int, total: int) -> None:
        percent = done * 100 // total if total else 0
        if (file, percent) == (self.file, self.percent):
            return
        if self.file and file != self.file:
            click.echo("", err=True)
        self.file, self.percent = file, percent
        bar = "#" * (percent // 5) + "." * (20 - percent // 5)
        click.echo(
            f"\r[{bar}] {percent:3d}%  {done / 1e6:.1f}/{total / 1e6:.1f} MB  {file}", err=True, nl=False
        )

    def close(self) -> None:
        if self.file:
            click.echo("", err=True)


@model.command("list")
@click.pass_context
def list_models(ctx: click.Context) -> None:
    """The pulled models; * marks the one the diffusers backend uses."""
    found = ModelStore(settings_of(ctx).models_dir).models()
    for item in found:
        click.echo(_describe(item))
    if not found:
        click.echo("no models yet: fedigen model pull OWNER/NAME")


@model.command("use")
@click.argument("name")
@click.pass_context
def use(ctx: click.Context, name: str) -> None:
    """Make a pulled model the one the diffusers backend loads."""
    try:
        chosen = ModelStore(settings_of(ctx).models_dir).use(name)
    except HubError as exc:
        fail(str(exc))
    click.echo(f"the diffusers backend now uses {chosen.name} ({chosen.path})")


@model.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Delete a pulled model's files."""
    try:
        ModelStore(settings_of(ctx).models_dir).remove(name)
    except HubError as exc:
        fail(str(exc))
    click.echo(f"removed {name}")


COMMANDS: list[click.Command] = [model]
