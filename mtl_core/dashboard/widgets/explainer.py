"""'What am I looking at?': the ideas behind the curves, in plain words.

The text speaks of losses; when the charts show the tasks' metrics instead, a line above
it says so (it explained a U shape and a star beside accuracy curves that had neither).
"""

from __future__ import annotations

import streamlit as st

TEXT = """
**Two curves per task.** The solid line is the loss on the images the model trains on; the
dashed line is the loss on validation images it never trains on. Training loss almost
always falls. Validation loss falls while the model learns things that generalise, then
often turns and rises: the model starts to memorise its training images. That U shape is
**overfitting**; the star marks the bottom of the U, the epoch the test score is taken at.
The shaded band between the two lines is the **generalisation gap**.

**Hard sharing.** One trunk (the layers that turn an image into features) is shared by all
tasks; each task has only its own small head. Every task's gradient shapes the shared
features, so a task with few labels can borrow what other tasks teach the trunk. Sharing
also acts as a **regulariser**: the trunk cannot memorise one task's few images without
hurting the others.

**Soft sharing.** Each task keeps its own trunk, and a penalty (λ) pulls corresponding
weights together: l2 pulls them towards equality, trace towards a shared low-rank
structure. λ = 0 is single-task learning; a very large λ behaves like hard sharing.

**Auxiliary tasks** are trained only to help the main task. *Statistical*: predict a
property of the image (its bounding box). *Selective unsupervised*: predict a hidden part
of the image. *Supervised*: a related label of no interest by itself (loops; parity, odd
or even, which follows from the digit label).
*Unsupervised*: reconstruct the whole image. The **shuffled control** keeps the task but
permutes its labels: if the benefit survives shuffling, it came from the extra head (or
from regularisation), not from the task.

**When does sharing help?** When the other tasks carry information the main task's labels
lack, typically because they are labelled on more images: the lesson *Sharing helps*.
Parity labelled on the same images as the digits adds no information the digit labels
lack; whether it then helps or hurts, one run is too noisy to tell: the lesson
*Sharing hurts* measures it over seeds.
"""


# Above the text when the charts show the metric: the text speaks of losses (the U shape
# and its star are the loss's), and read beside accuracy curves it described another chart.
METRIC_NOTE = (
    "*The charts show each task's metric now (Show: metric), which rises where the loss "
    "falls; what follows speaks of the loss: switch Show to loss to see it.*"
)


def explainer(run: dict | None = None, shown: str = "loss", numbers: dict | None = None) -> None:
    """The ideas behind the curves; ``shown``: what the charts show (``loss`` or
    ``metric``, the Show control); ``numbers``: the run's ``card_numbers``."""
    with st.expander("What am I looking at?", expanded=False):
        if shown != "loss":
            st.markdown(METRIC_NOTE)
        st.markdown(TEXT)
        for line in run_lines(run, numbers):
            st.markdown(line)


def run_lines(run: dict | None, numbers: dict | None = None) -> list[str]:
    """One line per main task of ``run`` (a stored run with its summary): its best epoch
    and gap, and what its curves did after it: overfitting (the validation loss rose while
    the training loss did not) or an unstable training (the training loss rose too, as
    ``numbers``, the run's ``card_numbers``, say)."""
    if not run or not run["summary"].get("main"):
        return []
    lines = []
    for task, s in run["summary"]["main"].items():
        unstable = ((numbers or {}).get("tasks", {}).get(task) or {}).get("diverging")
        line = (
            f"In **{run['name']}**, the {task} validation loss was lowest at epoch "
            f"{s['best_epoch']} ({s['best_val_loss']:.3f}); the training loss there "
            f"was {s['train_loss']:.3f}, a gap of {s['gap']:.3f}."
        )
        if unstable is not None:
            line += (
                f" From epoch {unstable} on, the training loss rose too: the "
                "training was unstable, which is not overfitting (a smaller learning rate "
                "usually steadies it)."
            )
        elif s.get("rising_since") is not None:
            line += " After that the validation loss kept rising: overfitting."
        lines.append(line)
    return lines
