"""The dashboard in a real headless Chromium: click Train, watch the curves arrive.

Every assertion on the Live chart compares the numbers Plotly drew (read back from the
page, tests/e2e/drawn.py) with the rows the trainer stored, so a chart that draws the
wrong run, shifts a curve, mis-smooths or mis-places an axis or the star fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mtl_core.config import DEFAULT
from mtl_core.store.runs import RunStore

from .conftest import CHECKED
from .drawn import DRAWN, assert_drawn, live_chart, settle, stored, the_run, trace

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = Path(__file__).parent / "screenshots"

TASKS = ("digit", "parity")  # digit is the main task, parity the auxiliary one
CURVES = [f"{task} · {split}" for task in TASKS for split in ("train", "val")]
# 200 training images (the default) over 20 epochs: digit's validation loss bottoms out
# well inside the run (epoch 9 here), so the star cannot sit on the first or last epoch.
EPOCHS = 20
SETUP = f"/?aux=parity&epochs={EPOCHS}"


def train(page, url: str, setup: str = SETUP, epochs: int = EPOCHS) -> dict:
    """Load ``setup``, press Train, wait for the run to finish; the settled Live chart."""
    page.goto(url + setup)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        f"() => document.body.innerText.includes('completed · epoch {epochs}/{epochs}')",
        timeout=90_000,
    )

    def complete(chart: dict) -> None:
        lengths = {t["name"]: len(t["x"] or []) for t in chart["traces"]}
        assert all(lengths.get(name) == epochs + 1 for name in CURVES), lengths

    return settle(lambda: live_chart(page), complete)


def best_of(frame, task: str) -> tuple[int, float]:
    """The epoch of the lowest stored validation loss (the first on ties), and that loss."""
    val = stored(frame, task, "val", "loss")
    epoch = int(val.idxmin())
    return epoch, float(val.loc[epoch])


def stars(chart: dict) -> list[dict]:
    return [t for t in chart["traces"] if t["symbol"] == "star"]


def debiased_ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Point i is the mean of points 0..i weighted smoothing**(i - k): the exponential
    moving average divided by its total weight (no pull towards 0 at the start)."""
    out = []
    for i in range(len(values)):
        weights = smoothing ** np.arange(i, -1, -1, dtype=float)
        out.append(float(np.dot(weights, values[: i + 1]) / weights.sum()))
    return np.array(out)


def test_train_shows_train_and_val_curves_for_every_task(app_server, browser):
    """Each task's train and validation curves are the stored losses, epoch by epoch."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    chart = train(page, url)
    _, frame = the_run(root)
    for task in TASKS:
        for split in ("train", "val"):
            losses = stored(frame, task, split, "loss")
            assert list(losses.index) == list(range(EPOCHS + 1)), (task, split)
            drawn = trace(chart, f"{task} · {split}")
            assert_drawn(drawn["x"], losses.index, f"{task} · {split}: epochs")
            assert_drawn(drawn["y"], losses.to_numpy(), f"{task} · {split}: losses")
    assert chart["axes"]["xaxis"] == "epoch"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "train.png"), full_page=True)
    assert "aux=parity" in page.url
    page.close()


def test_the_star_marks_the_epoch_of_lowest_validation_loss(app_server, browser):
    """One star, for the main task, on its panel, at its stored minimum validation loss."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    chart = train(page, url)
    _, frame = the_run(root)
    epoch, loss = best_of(frame, "digit")
    assert 0 < epoch < EPOCHS, f"the minimum is at epoch {epoch}: choose a setup that overfits"
    (star,) = stars(chart)  # parity is auxiliary: no star
    assert star["xaxis"] == trace(chart, "digit · val")["xaxis"]
    assert star["name"] == f"best epoch {epoch}"
    assert_drawn(star["x"], [epoch], "star: epoch")
    assert_drawn(star["y"], [loss], "star: validation loss")
    page.close()


def test_smoothing_draws_the_debiased_moving_average_of_the_stored_losses(app_server, browser):
    """The slider smooths every curve (an EMA without the start's bias); the star stays
    on the stored minimum, because smoothing changes the display only."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    train(page, url)
    _, frame = the_run(root)
    slider = page.get_by_role("slider", name="Smoothing")
    slider.focus()
    for _ in range(12):  # 12 steps of 0.05
        slider.press("ArrowRight")
    assert slider.get_attribute("aria-valuetext") == "0.60"
    smoothing = float(slider.input_value())
    assert smoothing == pytest.approx(0.6)
    expected = {
        f"{task} · {split}": debiased_ema(stored(frame, task, split, "loss").to_numpy(), smoothing)
        for task in TASKS
        for split in ("train", "val")
    }
    assert not np.allclose(expected["digit · val"], stored(frame, "digit", "val", "loss"))

    def smoothed(chart: dict) -> None:
        for name, values in expected.items():
            assert_drawn(trace(chart, name)["y"], values, f"{name}: smoothed losses")

    chart = settle(lambda: live_chart(page), smoothed)
    epoch, loss = best_of(frame, "digit")
    (star,) = stars(chart)
    assert_drawn(star["x"], [epoch], "star: epoch")
    assert_drawn(star["y"], [loss], "star: stored (unsmoothed) validation loss")
    page.screenshot(path="/tmp/mtl_smoothing.png", full_page=True)
    page.close()


def test_x_axis_modes_draw_the_stored_steps_and_samples(app_server, browser):
    """Steps and samples put every point (and the star) at the count stored for its
    epoch (0 before training), with the stored losses as y; epoch puts them back."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    train(page, url)
    _, frame = the_run(root)
    epoch, loss = best_of(frame, "digit")
    axis = page.get_by_role("radiogroup", name="x-axis")

    def placed_at(x_of: dict[int, float], axis_title: str):
        def check(chart: dict) -> None:
            assert chart["axes"]["xaxis"] == axis_title and chart["axes"]["xaxis2"] == axis_title
            for task in TASKS:
                for split in ("train", "val"):
                    losses = stored(frame, task, split, "loss")
                    drawn = trace(chart, f"{task} · {split}")
                    want = [x_of[int(e)] for e in losses.index]
                    assert_drawn(drawn["x"], want, f"{task} · {split}: x in {axis_title}")
                    assert_drawn(drawn["y"], losses.to_numpy(), f"{task} · {split}: losses")
            (star,) = stars(chart)
            assert_drawn(star["x"], [x_of[epoch]], f"star: x in {axis_title}")
            assert_drawn(star["y"], [loss], "star: validation loss")

        return check

    for mode, title in (("steps", "optimiser steps"), ("samples", "samples seen")):
        counts = stored(frame, "_run", "train", mode)
        assert list(counts.index) == list(range(EPOCHS + 1)) and counts.iloc[0] == 0, mode
        assert counts.is_monotonic_increasing and counts.iloc[-1] > EPOCHS, mode
        axis.get_by_role("radio", name=mode, exact=True).click()
        settle(lambda: live_chart(page), placed_at(counts.to_dict(), title))
        page.screenshot(path=f"/tmp/mtl_x_{mode}.png", full_page=True)
    axis.get_by_role("radio", name="epoch", exact=True).click()
    settle(lambda: live_chart(page), placed_at({e: e for e in range(EPOCHS + 1)}, "epoch"))
    page.close()


def test_zoom_survives_the_live_refresh(app_server, browser):
    """A user's zoom on the live chart is kept while new epochs keep arriving."""
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=5000&train_size=1000")  # long: it must still be training
    page.get_by_role("button", name="Train", exact=True).click()
    # _fullData: the drawn traces, their x decoded (the figure may send typed arrays)
    points = """() => { const d = document.querySelector('.js-plotly-plot');
        return d && d._fullData && d._fullData.length ? d._fullData[0].x.length : 0; }"""
    page.wait_for_function(f"({points})() >= 3")
    # Drag a zoom box with the mouse, as a user would.
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.8, steps=8)
    page.mouse.up()
    ranges = """() => { const l = document.querySelector('.js-plotly-plot').layout;
        return [l.xaxis.range, l.yaxis.range, l.xaxis.autorange]; }"""
    zoomed = page.evaluate(ranges)
    assert zoomed[2] is False
    before = page.evaluate(points)
    page.wait_for_function(f"({points})() >= {before} + 3")  # several redraws
    assert page.evaluate(ranges) == zoomed
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => document.body.innerText.includes('stopped')")
    page.close()


def test_the_live_chart_stays_in_place_when_its_run_ends(app_server, browser):
    """When the run ends, the page's last full redraw updates the chart it has (the final
    figure, into the same element) instead of removing it and drawing a new one: no
    moment without a chart, no flash (widgets/polling.py says why the panel sits in a
    container either way)."""
    url, _ = app_server
    epochs = 60  # long enough to be still training when the watch begins
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?aux=parity&epochs={epochs}")
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    # Mark the chart's element; every 20 ms, note whether a chart is there and is it.
    page.evaluate(
        """() => { document.querySelector('.js-plotly-plot').__mtlFirst = true;
        window.__mtlGone = [];
        setInterval(() => {
          const now = document.querySelector('.js-plotly-plot');
          if (!now) window.__mtlGone.push('no chart');
          else if (!now.__mtlFirst) window.__mtlGone.push('another chart');
        }, 20); }"""
    )
    assert "completed" not in page.inner_text("body"), "the run ended before the watch began"
    # The mistakes section comes with the full redraw for the ended run (pages/live.py).
    page.get_by_text("Where does it go wrong?").wait_for(timeout=90_000)

    def final(chart: dict) -> None:
        lengths = {t["name"]: len(t["x"] or []) for t in chart["traces"]}
        assert all(lengths.get(name) == epochs + 1 for name in CURVES), lengths

    settle(lambda: live_chart(page), final)
    assert page.evaluate("() => window.__mtlGone") == []
    page.close()


def test_the_live_chart_appends_the_stored_epochs_itself(app_server, browser):
    """While a run trains, the chart asks the server for its new epochs (mtl/points,
    mtl_core/dashboard/feed.py) and appends them between the page's redraws: every drawn
    point, the appended ones too, is the stored loss, smoothed as the slider says and
    placed at its stored step count, and the star stays on the lowest stored validation
    loss drawn so far."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # Long, and learning slowly: the lowest validation loss keeps moving while the chart
    # feeds itself, so the star must move with it.
    page.goto(f"{url}/?aux=parity&epochs=5000&train_size=1000&lr=0.0001")
    page.get_by_role("button", name="Train", exact=True).click()
    slider = page.get_by_role("slider", name="Smoothing")
    slider.wait_for()
    slider.focus()
    for _ in range(12):  # 12 steps of 0.05
        slider.press("ArrowRight")
    page.get_by_role("radiogroup", name="x-axis").get_by_role("radio", name="steps").click()
    # Each stage waits on its own, so a timeout says which one failed (a CI run once waited
    # 60 s with the chart still on epochs): the control took the click, the page drew the
    # chart on steps, and the feed appended to it.
    page.wait_for_function(f"{CHECKED}('x-axis') === 'steps'", timeout=10_000)
    axis = """() => { const d = document.querySelector('.js-plotly-plot');
        return d && d.layout.xaxis.title.text; }"""
    page.wait_for_function(f"({axis})() === 'optimiser steps'", timeout=60_000)
    # __mtlFed: points the feed appended since the page last sent the chart a figure
    fed = """() => { const d = document.querySelector('.js-plotly-plot');
        return d && d.layout.xaxis.title.text === 'optimiser steps' ? d.__mtlFed || 0 : 0; }"""
    # 6 epochs of each of the 4 curves: more than 5 drawn even when the chart was drawn
    # whole before the run's first epoch (a busy machine) and fed every point since
    page.wait_for_function(f"({fed})() >= 24", timeout=60_000)
    plots, appended = page.evaluate(f"() => [({DRAWN})(), ({fed})()]")  # one moment
    (chart,) = [p for p in plots if any(t["name"] == "digit · train" for t in p["traces"])]
    page.get_by_role("button", name="Stop").click()
    _, frame = the_run(root)
    steps = stored(frame, "_run", "train", "steps")
    for task in TASKS:
        for split in ("train", "val"):
            drawn = trace(chart, f"{task} · {split}")
            n = len(drawn["y"])
            assert n > 5, f"{task} · {split}: {n} points"
            losses = stored(frame, task, split, "loss").to_numpy()[:n]
            assert_drawn(drawn["y"], debiased_ema(losses, 0.6), f"{task} · {split}: smoothed")
            assert_drawn(drawn["x"], steps.to_numpy()[:n], f"{task} · {split}: steps")
    n = len(trace(chart, "digit · val")["y"])
    epoch, loss = best_of(frame[frame.epoch < n], "digit")
    whole = n - appended // len(CURVES)  # epochs the chart held when last drawn whole
    assert epoch >= whole, f"the best epoch {epoch} came before the feed's epochs {whole}..{n - 1}"
    (star,) = stars(chart)
    assert_drawn(star["x"], [steps.loc[epoch]], "star: steps at the best epoch drawn")
    assert_drawn(star["y"], [loss], "star: lowest stored validation loss drawn")
    page.wait_for_function("() => document.body.innerText.includes('stopped')")
    page.close()


PROGRESS = re.compile(r"running · epoch (\d+)/(\d+) · ([\d.]+) s(?: · about (\d+) s left)?")


def test_the_progress_line_keeps_up_with_the_chart_and_says_the_stored_times(app_server, browser):
    """The progress line moves on with each of the chart's feed answers, not with the
    slower panel around it: at every look it names an epoch at least as late as the last
    one drawn, and it moved on at least every 1.5 s. Its time is the sum of the stored
    wall times up to that epoch, and its estimate that mean epoch time times the epochs
    still to go."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=5000")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        "() => /running · epoch [1-9]/.test(document.body.innerText)", timeout=60_000
    )
    look = """() => {
        const d = document.querySelector('.js-plotly-plot');
        const last = Math.max(-1, ...(d && d.data ? d.data : [])
            .filter((t) => t.meta && t.meta.feed && t.customdata.length)
            .map((t) => t.customdata[t.customdata.length - 1]));
        return [document.querySelector('.mtl-progress-text').textContent, last]; }"""
    looks = []
    for _ in range(24):
        looks.append(page.evaluate(look))
        page.wait_for_timeout(250)
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => document.body.innerText.includes('stopped · epoch')")
    _, frame = the_run(root)
    wall = stored(frame, "_run", "train", "wall_time")
    seen = []
    for text, last in looks:
        match = PROGRESS.fullmatch(text)
        assert match, text
        done, planned, elapsed = int(match[1]), int(match[2]), float(match[3])
        assert done >= last, f"{text!r} trails the chart, drawn up to epoch {last}"
        so_far = float(wall[wall.index <= done].sum())
        assert elapsed == pytest.approx(so_far, abs=0.051), text
        assert int(match[4]) == pytest.approx(so_far / done * (planned - done), abs=0.51), text
        seen.append(done)
    assert planned == 5000 and seen == sorted(seen)
    moves = [k for k in range(1, len(seen)) if seen[k] > seen[k - 1]]
    gaps = np.diff([0, *moves, len(seen) - 1])
    assert gaps.max() * 0.25 <= 1.5, f"the line stood still for {gaps.max() * 0.25} s: {seen}"
    page.close()


def test_a_paused_runs_line_counts_no_time_down(app_server, browser):
    """A paused run's line said "paused · epoch 83/1500 · 1.6 s · about 28 s left": a
    countdown of time the run was not spending. It has none while paused, and counts down
    again once resumed."""
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=5000")
    page.get_by_role("button", name="Train", exact=True).click()
    line = "() => (document.querySelector('.mtl-progress-text') || {}).textContent || ''"
    page.wait_for_function(f"() => / left$/.test(({line})())", timeout=60_000)
    page.get_by_role("button", name="Pause", exact=True).click()
    page.wait_for_function(f"() => /^paused · epoch/.test(({line})())")
    page.wait_for_timeout(1500)  # the feed's answers while paused
    assert "left" not in page.evaluate(line)
    page.get_by_role("button", name="Resume", exact=True).click()
    page.wait_for_function(f"() => /^running · .* left$/.test(({line})())")
    page.get_by_role("button", name="Stop", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('stopped · epoch')")
    page.close()


# In the page from before the click: every change to the page is checked at once (a
# MutationObserver runs before the browser paints) for a progress line that says the run
# has ended beside Pause or Stop, or beside a test score still "…".
ENDED_WATCH = """() => {
  const W = (window.__ended = {ended: false, buttons: 0, dots: 0});
  const check = () => {
    const line = document.querySelector('.mtl-progress-text');
    if (!line || !/^(completed|stopped)/.test(line.textContent)) return;
    W.ended = true;
    if ([...document.querySelectorAll('button')].some(
        (b) => ['Pause', 'Stop'].includes(b.innerText.trim()) && b.offsetParent !== null))
      W.buttons++;
    if ([...document.querySelectorAll('.mtl-card-value')].some(
        (m) => m.innerText.trim() === '…'))
      W.dots++;
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def test_the_progress_line_says_a_run_ended_only_with_the_panel_that_goes_with_it(
    app_server, browser
):
    """The chart's feed sees a run end before the panel around it redraws. The line said
    "completed" for 0.2-0.3 s while Pause and Stop were still on screen and the test
    score still "…". Now the status changes with the panel: no moment of the page shows
    an ended run with its buttons or without its test score."""
    url, _ = app_server
    for seed in (5, 6, 7):  # a late removal of the buttons showed in about 1 run of 4
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?epochs=60&seed={seed}")
        train = page.get_by_role("button", name="Train", exact=True)
        train.wait_for()
        page.evaluate(ENDED_WATCH)
        train.click()
        page.wait_for_function("() => /completed · epoch 60/.test(document.body.innerText)")
        page.wait_for_timeout(1000)  # the full rerun after the end, too
        watched = page.evaluate("() => window.__ended")
        assert watched["ended"], watched
        assert watched["buttons"] == 0, f"seed {seed}: an ended run with Pause/Stop: {watched}"
        assert watched["dots"] == 0, f"seed {seed}: an ended run without its test score: {watched}"
        page.close()


# The cards' epoch and first value, and the last epoch the chart's feed appended.
CARDS_AND_CHART = """() => {
    const cards = document.querySelector('.mtl-cards');
    const d = document.querySelector('.js-plotly-plot');
    const last = Math.max(-1, ...(d && d.data ? d.data : [])
        .filter((t) => t.meta && t.meta.feed && t.customdata.length)
        .map((t) => t.customdata[t.customdata.length - 1]));
    const value = document.querySelector('.mtl-card-value');
    return [cards ? +cards.dataset.epoch : -1, last, value ? value.textContent : null]; }"""


def test_the_cards_move_on_with_the_chart_while_the_run_trains(app_server, browser):
    """The cards redrew with the panel, every third of the chart's updates, and trailed it
    by up to 3 s. Now each feed answer moves them on with the chart: at every moment they
    show at least the epoch the chart has drawn, and they move every second or so, while
    the panel redraws only every 10 s. Once the run has stopped they show the stored
    run's best validation loss."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=5000")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"() => ({CARDS_AND_CHART})()[0] >= 1", timeout=60_000)
    looks = []
    for _ in range(24):
        looks.append(page.evaluate(CARDS_AND_CHART))
        page.wait_for_timeout(250)
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => document.body.innerText.includes('stopped · epoch')")
    page.wait_for_timeout(1000)  # the full rerun after the end
    epoch, _, value = page.evaluate(CARDS_AND_CHART)
    _, frame = the_run(root)
    val = stored(frame, "digit", "val", "loss")
    assert epoch == int(val.index.max())
    assert value == f"{val.min():.4f}"
    page.close()
    for cards, chart, _ in looks:
        assert cards >= chart, f"the cards (epoch {cards}) trail the chart (epoch {chart})"
    seen = [cards for cards, _, _ in looks]
    moves = [k for k in range(1, len(seen)) if seen[k] > seen[k - 1]]
    gaps = np.diff([0, *moves, len(seen) - 1])
    assert gaps.max() * 0.25 <= 2.0, f"the cards stood still for {gaps.max() * 0.25} s: {seen}"


def test_a_live_runs_cards_wait_for_its_first_trained_epoch_then_come_with_the_feed(
    app_server, browser
):
    """Before a live run's first trained epoch the cards are a line saying when they come
    (the untrained network's "best at epoch 0" contradicted the chart); the feed's first
    answer with a trained epoch brings them, with no redraw of the page. The run is
    written by the test, as the CLI would, and opened by its link."""
    url, root = app_server
    with RunStore(root / "runs.sqlite") as store:
        run = store.create_run(DEFAULT.replace(epochs=50).to_dict(), name="written run")
        store.append_epoch(
            run, 0, [("digit", "train", "loss", 2.31), ("digit", "val", "loss", 2.3)]
        )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?run={run}")
    note = page.locator(".mtl-card-note")
    note.wait_for(timeout=60_000)
    assert "appear once an epoch has trained" in note.inner_text()
    assert page.locator(".mtl-card").count() == 0
    with RunStore(root / "runs.sqlite") as store:
        for epoch, val in ((1, 1.4), (2, 1.1)):
            rows = [("digit", "train", "loss", 1.0), ("digit", "val", "loss", val)]
            store.append_epoch(run, epoch, [*rows, ("_run", "train", "wall_time", 0.1)])
    value = page.locator(".mtl-card-value").first
    value.wait_for(timeout=5_000)  # the feed asks every second; the panel every 10 s
    assert value.inner_text() == "1.1000"
    assert "at epoch 2" in page.locator(".mtl-card").first.inner_text()
    assert note.count() == 0
    with RunStore(root / "runs.sqlite") as store:
        summary = {"best_epoch": 2, "best_val_loss": 1.1, "train_loss": 1.0, "gap": 0.1}
        store.finish(run, "completed", "", {"main": {"digit": {**summary, "test_metric": 0.5}}}, {})
    page.wait_for_function("() => /completed · epoch 2/.test(document.body.innerText)")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.mtl-card-value')].some((v) => v.textContent === '0.5000')"
    )
    page.close()


def test_the_progress_line_counts_epoch_0s_time_when_drawn_before_epoch_0(app_server, browser):
    """The line drawn before the run's epoch 0 was stored said "epoch 0" with nothing
    counted, and skipped epoch 0's wall time when the feed brought it ("epoch >
    done"): a loaded machine's CI caught the time 0.05 s short. The run is written by the
    test, as the CLI would, and opened by its link."""
    url, root = app_server
    with RunStore(root / "runs.sqlite") as store:
        run = store.create_run(DEFAULT.replace(epochs=50).to_dict(), name="written run")
        store.set_status(run, "running")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?run={run}")
    page.wait_for_function("() => /running · epoch 0\\/50 · 0.0 s/.test(document.body.innerText)")
    with RunStore(root / "runs.sqlite") as store:
        for epoch, wall in ((0, 0.25), (1, 0.5), (2, 0.75)):
            rows = [("digit", "train", "loss", 1.0), ("digit", "val", "loss", 1.2)]
            store.append_epoch(run, epoch, [*rows, ("_run", "train", "wall_time", wall)])
    line = page.locator(".mtl-progress-text")
    page.wait_for_function(
        "() => /epoch 2\\//.test(document.querySelector('.mtl-progress-text').textContent)",
        timeout=10_000,  # the feed asks every second; the panel every 10 s
    )
    assert line.inner_text().startswith("running · epoch 2/50 · 1.5 s"), line.inner_text()
    page.close()


@pytest.mark.parametrize("after", [0.2, 1.5])
def test_a_change_right_after_train_still_opens_the_run(app_server, browser, after):
    """Train, then at once another sidebar change (a student who keeps typing), on a fresh
    server, where the click's script run takes seconds. The change's request cuts that
    run short: at 0.2 s right after the run started, before the page recorded it; at
    1.5 s after it had chosen the Live view but before the browser had the new picker,
    whose old value came back with the request. The page stayed on Lessons while its run
    trained unseen (always at 0.2 s; about every other time at 1.5 s). It opens the run."""
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=200")
    sidebar = page.locator('[data-testid="stSidebar"]')
    data_seed = sidebar.get_by_label("Data seed", exact=True)
    if not data_seed.is_visible():
        sidebar.get_by_text("Training", exact=True).click()
    data_seed.wait_for(state="visible")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_timeout(after * 1000)
    data_seed.fill("123")
    data_seed.press("Enter")
    page.wait_for_function(
        "() => /(running|completed) · epoch/.test(document.body.innerText)", timeout=60_000
    )
    run_id, _ = the_run(root)
    assert page.get_by_role("heading", name=f"run {run_id}").is_visible()
    page.close()


def test_a_second_run_in_the_same_page_gets_an_axis_spanning_its_epochs(app_server, browser):
    """The Live chart is one element for every run of the page. Plotly keeps its UI state
    (``layout.uirevision``) across redraws: after a first run, the second run's ended
    figure kept the live figure's fixed range off, and Plotly drew its default -1 to 6
    (seen by a newcomer: "completed · epoch 60/60" above curves that stopped at 6). A zoom
    made on one run must not carry over to the next either."""
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    axes = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter((d) => (d.data || []).some((t) => t.name === 'digit · train'))
        .map((d) => d._fullLayout.xaxis.range)[0]"""
    page.goto(f"{url}/?epochs={EPOCHS}")  # a first run: digit alone
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Where does it go wrong?").wait_for(timeout=90_000)  # it ended
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()  # zoom into it
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.8, steps=8)
    page.mouse.up()
    assert page.evaluate(axes)[1] < EPOCHS / 2
    page.get_by_text("parity (supervised)", exact=True).first.click()  # another setup
    page.wait_for_function("() => location.search.includes('parity')")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        f"() => document.body.innerText.includes('completed · epoch {EPOCHS}/{EPOCHS}') "
        "&& document.body.innerText.includes('run 2')",
        timeout=90_000,
    )
    page.wait_for_timeout(3000)  # the ended run's last redraws
    chart = live_chart(page)
    assert [t["name"] for t in chart["traces"] if t["name"].endswith(" · val")] == [
        "digit · val",
        "parity · val",
    ]
    low, high = page.evaluate(axes)
    assert low <= 0 and high >= EPOCHS, f"run 2's epochs 0-{EPOCHS} drawn on {low} to {high}"
    page.close()
