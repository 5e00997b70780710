"""split_issues (POLICY.md P2) with the shipped rules/splitting.toml."""
from __future__ import annotations

from gateway.policy.newtext import new_text
from gateway.policy.splitting import SplitRules, split_issues


def test_enumerated_separate_problems_are_split(split_rules: SplitRules) -> None:
    text = (
        "Hi,\n\nWe have two problems with our Zimbra server:\n\n"
        "1. Users cannot log in to the web client since Monday.\n"
        "2. Outgoing mail to gmail.com bounces with 550 5.7.26.\n"
    )
    result = split_issues(text, split_rules)
    assert result.combined
    assert len(result.issues) == 2
    assert result.issues[0].endswith("1. Users cannot log in to the web client since Monday.")
    assert result.issues[1].endswith("2. Outgoing mail to gmail.com bounces with 550 5.7.26.")
    # The shared lead-in stays with each problem.
    assert all(issue.startswith("Hi,\n\nWe have two problems") for issue in result.issues)
    assert {s["id"] for s in result.signals if s["split"]} >= {"list.item"}
    assert result.starts == [text.index("1."), text.index("2.")]


def test_numbered_reproduction_steps_stay_one_issue(split_rules: SplitRules) -> None:
    text = (
        "Roundcube shows an error when I open a big folder.\n\nSteps to reproduce:\n"
        "1. Log in as testuser\n2. Open the folder Archive, it fails\n3. Click on the second page, error again\n\n"
        "PS: we run version 1.6.5"
    )
    result = split_issues(text, split_rules)
    assert not result.combined
    assert result.issues == [text]
    assert any(s["id"] == "step.reproduce" for s in result.signals)
    assert any(s["id"] == "veto.ps-version" for s in result.signals)


def test_log_excerpt_stays_one_issue(split_rules: SplitRules) -> None:
    text = (
        "Postfix rejects mail from our scanner:\n\n"
        "Jan 12 10:01:02 mx postfix/smtpd[1234]: NOQUEUE: reject: 554 5.7.1 Relay access denied\n"
        "Jan 12 10:01:03 mx postfix/smtpd[1234]: error: another problem: disconnect from unknown\n\n"
        "Also, I restarted postfix and the error persists."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_several_symptoms_of_one_failure_stay_one_issue(split_rules: SplitRules) -> None:
    text = (
        "Since the upgrade yesterday:\n- users can't log in to the webmail\n"
        "- IMAP clients time out\n- the admin console shows error 500\n"
    )
    assert not split_issues(text, split_rules).combined


def test_also_with_a_new_problem_is_split(split_rules: SplitRules) -> None:
    text = (
        "Hi, our Dovecot does not index new mail, search returns nothing.\n\n"
        "Also, the Nextcloud calendar doesn't sync to Thunderbird anymore."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.issues[1] == "Also, the Nextcloud calendar doesn't sync to Thunderbird anymore."
    fired = {s["id"] for s in result.signals if s["split"]}
    assert "marker.also" in fired


def test_casual_another_thing_is_split(split_rules: SplitRules) -> None:
    text = "Outlook keeps asking for the password. Oh, and another thing: autodiscover fails for our second domain."
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.issues[1].startswith("Oh, and another thing")


def test_quoted_multi_item_text_is_stripped_before_splitting(split_rules: SplitRules) -> None:
    plain = (
        "Thanks, that fixed it.\n\nOn Mon, 3 Jun 2024 at 10:00, Jane <j@example.com> wrote:\n"
        "> 1. Users cannot log in to the web client.\n> 2. Outgoing mail bounces with 550.\n"
        "> Another issue: the calendar does not sync.\n"
    )
    result = split_issues(new_text(plain, None), split_rules)
    assert result.issues == ["Thanks, that fixed it."]
    assert not result.combined


def test_empty_text_is_one_empty_issue(split_rules: SplitRules) -> None:
    result = split_issues("", split_rules)
    assert result.issues == [""] and not result.combined


def test_max_issues_caps_the_count(split_rules: SplitRules) -> None:
    items = "\n".join(f"{n}. Problem number {n} with the mail server is that delivery fails." for n in range(1, 6))
    capped = SplitRules(signals=split_rules.signals, max_issues=2)
    assert len(split_issues("We have several problems:\n\n" + items, split_rules).issues) == 5
    assert len(split_issues("We have several problems:\n\n" + items, capped).issues) == 2
