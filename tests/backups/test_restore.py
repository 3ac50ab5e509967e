"""Drills: the database volume lost, brought back to a point in time and to the latest
archived write; a damaged repository refused; a restore never starts by accident
(docs/backups.md)."""

import json
import time

import httpx
import pytest

from tests.backups.conftest import BackupStack, shorten
from tests.e2e.stack import run
from tests.faults.test_database_faults import PROBLEM_TYPE
from tests.faults.traffic import Flow, Traffic, create, follow, summary, wait_until

pytestmark = pytest.mark.e2e


def redirects(stack: BackupStack, codes: list[str]) -> set[int]:
    with stack.client() as visitor:
        return {visitor.get(f"/{code}").status_code for code in codes}


def test_a_lost_volume_is_restored_to_a_point_in_time(
    stack: BackupStack, client: httpx.Client, api_key: str
) -> None:
    before_backup = shorten(client, "before-backup", 5)
    for code in before_backup:  # clicks, ingested before the backup: totals to compare
        client.get(f"/{code}")
    wait_until(lambda: stack.clicks_of(before_backup) == 5, 60)
    output = stack.backup("backup", "full")
    assert "full backup" in output

    before_target = shorten(client, "before-target", 5)
    # The target: a moment with the writes above committed and those below not yet made.
    time.sleep(1)
    target = stack.sql("SELECT now()")
    time.sleep(1)
    after_target = shorten(client, "after-target", 5)
    stack.archived()  # the segment holding them in the repository now
    # The cached redirects of all three survive the loss (Redis), until the restore forgets them.
    assert redirects(stack, before_backup + before_target + after_target) == {302}
    # Their 15 clicks ingested (after the target): a restore to the target drops them. Still
    # in the stream, they would be ingested again after it (docs/backups.md, "Clicks").
    everything = before_backup + before_target + after_target
    wait_until(lambda: stack.clicks_of(everything) == 20, 60)

    stack.destroy_database_volume()
    started = time.monotonic()
    output = stack.backup("restore", "--target-time", target, "--confirm")
    took = time.monotonic() - started
    print(f"restore to {target}: {took:.0f} s from a lost volume to a serving stack")
    assert f"restored to {target}" in output

    # Exactly the links committed before the target (other drills' links aside).
    present = set(stack.sql("SELECT code FROM shortener.links").split())
    assert set(before_backup + before_target) <= present
    assert not set(after_target) & present
    # The clicks committed before the target (the 15 ingested after it are gone with it).
    assert stack.clicks_of(everything) == 5
    assert redirects(stack, before_backup + before_target) == {302}
    assert redirects(stack, after_target) == {404}  # gone, and no cache says otherwise
    # Roles as they were: the key still authenticates (a write), the app role still has no
    # DDL, and reads and writes rows as before.
    with stack.client(api_key) as after:
        assert shorten(after, "after-restore", 1)
    assert "permission denied for schema shortener" in stack.as_app_role(
        "CREATE TABLE shortener.nope (n int)"
    )
    links = stack.sql("SELECT count(*) FROM shortener.links")
    assert stack.as_app_role("SELECT count(*) FROM links").strip() == links
    # ... and the owner's default privileges still grant it every new table.
    stack.sql("SET ROLE shortener_owner; CREATE TABLE shortener.made_after_restore (n int)")
    try:
        assert stack.as_app_role("SELECT count(*) FROM made_after_restore").strip() == "0"
    finally:
        stack.sql("DROP TABLE shortener.made_after_restore")


def test_a_damaged_repository_is_refused_naming_the_file(stack: BackupStack) -> None:
    stack.backup("backup", "full")
    # One file of the newest full backup cut short, as a failing disk or an interrupted copy
    # off the host would leave it.
    damaged = stack.exec(
        "database", "sh", "-c",
        "f=$(find /var/lib/pgbackrest/backup/shortener/*F/pg_data/base -name '*.zst'"
        " -size +2k | sort | tail -n1) && truncate -s 100 \"$f\" && echo \"${f#*/shortener/}\"",
    ).strip()  # fmt: skip
    label = damaged.split("/", 1)[0]
    assert label.endswith("F"), damaged
    links = stack.sql("SELECT count(*) FROM shortener.links")
    database = stack.inspect(stack.container("database"))["State"]["StartedAt"]

    check = stack.backup("check", check=False)
    assert f"invalid checksum '{damaged}'" in check, check
    restore = stack.backup("restore", "--confirm", check=False)
    assert f"invalid checksum '{damaged}'" in restore, restore
    assert "the database is untouched" in restore
    # Untouched indeed: the same server, never stopped, the same rows.
    assert stack.inspect(stack.container("database"))["State"]["StartedAt"] == database
    assert stack.sql("SELECT count(*) FROM shortener.links") == links

    # The way out: a new full backup, then the damaged set expired by pgBackRest.
    stack.backup("backup", "full")
    stack.exec("database", "pgbackrest", "--stanza=shortener", f"--set={label}", "expire")
    assert "every file matches its checksum" in stack.backup("check")


def test_a_restore_never_starts_without_confirmation(stack: BackupStack) -> None:
    refused = stack.backup("restore", check=False)
    assert "add --confirm (make restore CONFIRM=yes)" in refused
    assert stack.inspect(stack.container("database"))["State"]["Running"]


def test_a_crash_loses_at_most_the_writes_not_yet_archived(
    stack: BackupStack, client: httpx.Client
) -> None:
    # Writes before an archived segment switch (as archive_timeout makes one each minute
    # at the latest), more after it; then the server SIGKILLed and its volume destroyed:
    # nothing flushed, nothing archived on the way out. A restore to the latest write
    # brings back every write archived before the crash.
    archived = shorten(client, "archived", 10)
    stack.archived()
    switched_at = time.time()
    # Each write with the time its 201 came back: committed by then.
    written_after = [(shorten(client, f"after-switch-{n}", 1)[0], time.time()) for n in range(10)]
    run(["docker", "kill", "--signal", "KILL", stack.container("database")])
    crashed_at = time.time()
    stack.destroy_database_volume()

    started = time.monotonic()
    assert "restored; the stack is up" in stack.backup("restore", "--confirm")
    took = time.monotonic() - started
    present = set(stack.sql("SELECT code FROM shortener.links").split())
    assert set(archived) <= present  # every archived write is back
    lost = [when for code, when in written_after if code not in present]
    rpo = crashed_at - min(lost) if lost else 0.0
    print(
        f"crash {crashed_at - switched_at:.1f} s after the last archived segment: "
        f"{len(lost)} of {len(written_after)} later writes lost (RPO {rpo:.1f} s); "
        f"restored to the latest in {took:.0f} s"
    )
    assert rpo <= 60 + 5  # archive_timeout bounds it
    assert redirects(stack, archived) == {302}


def test_a_bad_delete_is_undone_while_redirects_flow(
    stack: BackupStack, client: httpx.Client, api_key: str
) -> None:
    # The usual reason for a restore on a live system: links deleted by mistake, through
    # the API as a person or a script would. Traffic meanwhile: redirects of other, cached
    # links and creates; the restore brings the deleted links back to the moment before.
    kept = shorten(client, "kept", 10)
    victims = shorten(client, "deleted-by-mistake", 5)
    assert redirects(stack, kept + victims) == {302}  # cached now
    time.sleep(1)
    target = stack.sql("SELECT now()")
    time.sleep(1)
    for code in victims:
        assert client.delete(f"/api/links/{code}").status_code == 204
    stack.archived()
    assert redirects(stack, victims) == {404}

    flows = [
        Flow("redirect", 30, follow(kept)),
        Flow("create", 2, create("https://example.org/during-restore")),
    ]
    traffic = Traffic(stack.base_url, flows, headers={"Authorization": f"Bearer {api_key}"})
    with traffic:
        time.sleep(3)
        started = time.monotonic()
        output = stack.backup("restore", "--target-time", target, "--confirm")
        restored = time.monotonic()
        time.sleep(5)
    assert f"restored to {target}" in output
    # The switch happened under the traffic: the server now up started during the restore.
    uptime = float(stack.sql("SELECT extract(epoch FROM now() - pg_postmaster_start_time())"))
    assert uptime < time.monotonic() - started

    # Cached redirects answered throughout: the database stopped, replayed and came back
    # behind them.
    redirected = traffic.of("redirect")
    assert all(o.status == 302 for o in redirected), summary(redirected)
    # Writes waited for the database (the api's pool waits up to its timeout) or failed
    # as documented: 503 problem+json, nothing else.
    creates = traffic.of("create")
    failed = [o for o in creates if o.status != 201]
    for outcome in failed:
        assert outcome.status == 503, summary(failed)
        assert outcome.content_type == "application/problem+json", outcome
        assert json.loads(outcome.body)["type"] == PROBLEM_TYPE, outcome
    assert all(o.status == 201 for o in traffic.of("create", restored)), summary(creates)
    assert redirects(stack, victims) == {302}  # back, and no cache says otherwise
    print(
        f"restore to a time under load: {restored - started:.0f} s in all; {len(redirected)} "
        f"cached redirects all 302; {len(failed)} of {len(creates)} creates 503 "
        f"problem+json, the slowest create {max(o.seconds for o in creates):.1f} s"
    )
