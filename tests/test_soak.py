"""A bounded soak: the unattended agent against the emulator with random faults and CSM
edits, across a Monday morning. It never stops, no history row is doubled, no score lands
on the wrong account, and exactly one digest goes out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from collections import Counter

from agent.accounts import accounts_frame
from agent.config import SmtpConfig
from agent.from_config import digest_sender
from agent.playbooks import load_playbooks
from agent.schedule import Agent
from agent.scoring import score_accounts
from agent.state import StateFolder
from agent.stores.base import Tab
from agent.stores.google import raw
from tests.conftest import ROOT
from tests.google_fixtures import HISTORY, start_emulated_google
from tests.sheets_emulator import Call, Fault, SheetsEmulator
from tests.smtp_fixtures import start_server
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

LABELS = [[TOP[j], MID[j], LOW[j]] for j in range(4)]
WALL_CLOCK_LIMIT = 240.0  # seconds: the soak stops by itself (alone it takes about 10)


def test_soak_with_faults_and_live_edits(seed_config, tmp_path):
    rng = random.Random(2026)
    controller, inbox = start_server(tmp_path)
    google = None
    try:
        config = dataclasses.replace(
            seed_config,
            sheet=dataclasses.replace(seed_config.sheet, backend="google"),
            smtp=SmtpConfig(
                host="127.0.0.1",
                port=controller.port,
                security="none",
                sender="Agent <agent@example.com>",
                timeout_s=5,
            ),
        )
        rows = [
            [
                f"Compte {i:03d}",
                rng.choice(["Camille", "Hugo"]),
                "PME",
                *(rng.choice(LABELS[j]) for j in range(4)),
            ]
            for i in range(60)
        ]
        google = start_emulated_google(tmp_path, HEADER, rows, max_tries=3)
        emulator, store, tab = google.emulator, google.store, google.tab
        names = iter(range(1000, 100000))

        def csm_at_work(call: Call, emu: SheetsEmulator) -> None:
            if rng.random() > 0.15:
                return
            injected["edits"] += 1
            data = tab.rows[1:]
            choice = rng.choice(["sort", "edit", "insert", "delete"])
            if choice == "sort":
                tab.rows[1:] = sorted(data, key=lambda r: str(r[rng.randrange(7)]))
            elif choice == "edit" and data:
                line = rng.choice(data)
                col = rng.randrange(3, 7)
                line[col] = rng.choice(LABELS[col - 3])
            elif choice == "insert":
                tab.insert_row(
                    rng.randrange(1, len(tab.rows) + 1),
                    [
                        f"Compte {next(names)}",
                        "Léa",
                        "ETI",
                        *(rng.choice(LABELS[j]) for j in range(4)),
                    ],
                )
            elif choice == "delete" and len(data) > 10:
                tab.delete_row(rng.randrange(1, len(tab.rows)))

        injected = Counter()

        def faults(call: Call, emu: SheetsEmulator) -> None:
            # a pass makes one or two calls now (issue 17), not four or five: a fault is
            # drawn a little more often per call, so that the night stays as bad
            if rng.random() < 0.2:
                injected["faults"] += 1
                emu.faults.append(
                    rng.choice(
                        [Fault(status=429), Fault(status=503), Fault(status=500), Fault(reset=True)]
                    )
                )

        emulator.before_call(csm_at_work)
        emulator.before_call(faults)
        agent = Agent(
            config,
            open_store=lambda sleep: store,
            next_actions=lambda: load_playbooks(ROOT / "playbooks" / "fr"),
            send_digest=digest_sender(config),
            state=StateFolder(tmp_path / "state"),
        )
        now = dt.datetime(2026, 11, 22, 20, 0, tzinfo=dt.UTC)  # Sunday evening
        started = time.monotonic()
        passes = 0
        while now < dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC):  # to Monday noon
            if time.monotonic() - started > WALL_CLOCK_LIMIT:
                break
            agent._wake_for_pass(lambda now=now: now)
            passes += 1
            now += dt.timedelta(minutes=10)
        assert passes == 96  # the whole simulated night ran within the wall-clock bound
        assert injected["faults"] > 20, injected  # Google had a bad night
        assert emulator.calls["token"] == 1  # one store and one token for the whole night

        emulator.clear_hooks()  # calm: one last pass, then check everything
        emulator.faults.clear()
        result = agent.sync(now)
        assert result is not None
        # the playbooks ran in their worker all night: a worker that cannot answer fails
        # every template, which leaves every account without a next action
        assert not result.playbook_failures
        assert all(result.accounts["next_action"])
        header = tab.rows[0]
        history = emulator.tab(google.spreadsheet_id, HISTORY)
        ids = Counter((r[0], r[2]) for r in history.rows[1:] if r and r[0])
        assert ids and max(ids.values()) == 1  # never a doubled (week, account) row

        live = Tab("Comptes", header, [r for r in tab.rows[1:] if r and r[0]])
        truth = score_accounts(
            accounts_frame(live), config.model, key_column="Client", language="fr"
        )
        score_at = header.index("Score")
        for row, expected in zip(live.rows, truth["shown"], strict=True):
            want = result.plan.desired[row[0]]["Score"] if result.plan.desired else None
            assert row[score_at] == raw(want)
            assert float(row[score_at]) == expected, row[0]

        assert len(inbox.messages) == 1  # one digest, despite faults and many passes
        status = StateFolder(tmp_path / "state").read_status()
        assert status.last_digest_week == "2026-W48"
    finally:
        if google is not None:
            google.close()
        controller.stop()
