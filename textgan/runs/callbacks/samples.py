"""Log decoded samples after each evaluation: a text file under the run dir, a W&B table when W&B logs, and a
TensorBoard text entry (a markdown table) when TensorBoard logs.

A method's samples are `pl_module.eval_samples` (one line of text each). A method whose samples have parts sets
`pl_module.eval_sample_table = (columns, rows)` too (dialogue: context / human / generated): the W&B table and the
TensorBoard table get those columns, and `samples_<tag>_epoch<E>.tsv` (a header, then one row per sample) is
written next to the text file.
"""

from __future__ import annotations

from pathlib import Path

from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger


def sample_table(pl_module) -> tuple[list[str], list[list[str]]]:
    """(columns, rows) of the module's last evaluation samples: its `eval_sample_table`, else one `sample`
    column of `eval_samples`."""
    table = getattr(pl_module, "eval_sample_table", None)
    if table:
        columns, rows = table
        return list(columns), [list(r) for r in rows]
    return ["sample"], [[s] for s in getattr(pl_module, "eval_samples", [])]


def _one_line(text: str) -> str:
    return text.replace("\n", " ").replace("\t", " ")


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    """A markdown table (TensorBoard's text plugin renders it); `|` inside a cell is escaped."""
    def line(cells) -> str:
        return "| " + " | ".join(_one_line(str(c)).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(columns), line(["---"] * len(columns)), *(line(r) for r in rows)])


class SampleLogger(Callback):
    """Writes the last evaluation's samples (the first `num_samples`) to `<dirpath>/samples_<tag>_epoch{E:04d}.txt`
    (and `.tsv` for a table with several columns), a W&B table `<tag>/samples` (epoch + the columns) and a
    TensorBoard text `<tag>/samples` at step E."""

    def __init__(self, dirpath: str, num_samples: int = 20):
        self.dirpath = Path(dirpath)
        self.num_samples = num_samples

    def _write(self, trainer, pl_module, tag: str) -> None:
        samples = list(getattr(pl_module, "eval_samples", []))[: self.num_samples]
        if not samples or trainer.sanity_checking or not trainer.is_global_zero:
            return
        columns, rows = sample_table(pl_module)
        rows = rows[: self.num_samples]
        epoch = trainer.current_epoch
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"samples_{tag}_epoch{epoch:04d}.txt"
        path.write_text("\n".join(s.replace("\n", " ") for s in samples) + "\n", encoding="utf-8")
        if len(columns) > 1:
            lines = ["\t".join(columns), *("\t".join(_one_line(c) for c in r) for r in rows)]
            path.with_suffix(".tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_text(key=f"{tag}/samples", columns=["epoch", *columns], data=[[epoch, *r] for r in rows])
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_text(f"{tag}/samples", markdown_table(columns, rows), global_step=epoch)

    def on_validation_end(self, trainer, pl_module) -> None:
        self._write(trainer, pl_module, "val")

    def on_test_end(self, trainer, pl_module) -> None:
        self._write(trainer, pl_module, "test")
