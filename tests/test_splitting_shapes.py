"""Shapes of combined and single requests seen in public support trackers (POLICY.md P2).

Each text is written in our own words after a shape found in the real evaluation set
(bench/data/split_eval_real*.jsonl): markdown headings per problem, enumerations inside one
line, "Q1:" labels, a lead that announces paragraphs, and the single-issue shapes that must
not split: issue-template forms, task-list checkboxes, lists of references, a paragraph that
continues in lower case, and "Also worked fine."
"""
from __future__ import annotations

from gateway.policy.splitting import split_issues


def _ids(result) -> set[str]:
    return {s["id"] for s in result.signals if s.get("split")}


def test_markdown_headed_problems_split(split_rules) -> None:
    text = (
        "## Problem 1: Sieve filters are ignored\n\n"
        "Since the move to the new host, none of my sieve split_rules run. Mail lands in INBOX.\n\n"
        "## Problem 2: Calendar invitations\n\n"
        "Invitations sent from the webmail arrive without the ics part at external recipients."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts[1] == text.index("## Problem 2")
    assert "marker.numbered-heading" in _ids(result)


def test_bold_issue_labels_split(split_rules) -> None:
    text = (
        "**Issue 1**: The spam folder is not created for new mailboxes, so junk lands in the inbox.\n\n"
        "**Issue 2**: Is there a way to change the default quota for every new domain?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_enumeration_inside_one_line_splits(split_rules) -> None:
    text = (
        "I have two questions: 1) how do I raise the attachment size limit in the webmail? "
        "2) why does the admin page say my DKIM key is invalid when other checkers accept it?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts[1] == text.index("2) why")
    assert result.issues[0].startswith("I have two questions:")


def test_version_numbers_and_stray_parentheses_do_not_cut_a_line(split_rules) -> None:
    text = (
        "Since 2.3) the log rotation stops at 1) midnight? The rotated files stay empty and the "
        "daemon keeps writing to the old file handle until it is restarted."
    )
    assert not split_issues(text, split_rules).combined


def test_q_labels_split(split_rules) -> None:
    text = (
        "Q1: Can the autodiscover service publish the IMAP port 993 instead of 143?\n"
        "Q2: The filter UI keeps logging me out after a few seconds, what can cause this?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_lead_announcing_questions_splits_the_paragraphs_below(split_rules) -> None:
    text = (
        "Hello, two questions:\n\n"
        "How do I forward all mail of a deleted user to another mailbox?\n\n"
        "Is it possible to set an out-of-office reply for a shared mailbox from the admin UI?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "lead.several-problems" in _ids(result)


def test_lead_announcing_symptoms_of_an_upgrade_does_not_split(split_rules) -> None:
    text = (
        "A few problems since the upgrade to 3.1:\n\n"
        "The webmail shows a blank page after login for every user.\n\n"
        "The admin page cannot list the domains, it times out."
    )
    assert not split_issues(text, split_rules).combined


def test_also_with_a_new_question_on_another_subject_splits(split_rules) -> None:
    text = (
        "The quota shown in the webmail is always 0 bytes even though the mailbox is nearly full.\n\n"
        "Also would it be possible to change the DNS resolvers the containers use?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_also_without_a_subject_continues_the_story(split_rules) -> None:
    text = (
        "I moved my server to the new image and set up DKIM, SPF and DMARC. Sending from the phone "
        "to my private account works. Also worked fine from the desktop client.\n\n"
        "Now I added a catch-all alias for the domain but mail to unknown addresses still bounces."
    )
    assert not split_issues(text, split_rules).combined


def test_issue_template_form_is_one_report(split_rules) -> None:
    text = (
        "### Describe the bug\n"
        "After the update the address book sync stops; contacts on the phone are stale.\n\n"
        "### Steps to reproduce\n"
        "1. Add a contact on the phone\n"
        "2. Wait for the sync\n\n"
        "### Actual behavior\n"
        "Nothing reaches the server and the account settings show a warning icon.\n\n"
        "Also, the button that opens the debug log does nothing at all when clicked.\n\n"
        "### Environment\n"
        "Client 91.2, server 5.4"
    )
    assert not split_issues(text, split_rules).combined


def test_form_still_splits_at_an_explicit_marker(split_rules) -> None:
    text = (
        "### Describe the bug\n"
        "Outgoing mail to one provider is rejected with 550 5.7.1 since Monday.\n\n"
        "### Additional context\n"
        "Another question: how do I move the spam folder of every user to a new name?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_checkbox_list_is_not_a_list_of_problems(split_rules) -> None:
    text = (
        "### Checklist\n\n"
        "- [x] I have searched the tracker for the same bug report.\n"
        "- [x] I will describe the problem with as much detail as I can.\n\n"
        "Sending a mail with an attachment fails: the app says it could not be sent, but it arrives."
    )
    assert not split_issues(text, split_rules).combined


def test_list_of_references_is_not_a_list_of_problems(split_rules) -> None:
    text = (
        "Please recommend the CalDAV and CardDAV setup in the docs instead of ActiveSync, "
        "its sync has too many problems on phones.\n\n"
        "Reports that hit me:\n"
        "* [4411: only one phone number shown when two have the same type](https://bugs.example.org/4411)\n"
        "* [2870: broken vcard import with quoted-printable](https://bugs.example.org/2870)\n"
    )
    assert not split_issues(text, split_rules).combined


def test_lower_case_paragraph_continues_the_question(split_rules) -> None:
    text = (
        "The bundled webmail is old; there is a maintained fork now. Would it be easy to switch?\n\n"
        "e.g. just change the image path of that service in the compose file?"
    )
    assert not split_issues(text, split_rules).combined


def test_list_of_documentation_suggestions_splits(split_rules) -> None:
    text = (
        "Thanks for the container. As a first-time user I found some gaps in the docs:\n\n"
        "1. How do I reach the admin panel? The port table does not list it.\n\n"
        "2. What are the hardware requirements? How many CPUs and how much RAM?\n\n"
        "3. Maybe add a link to the DNS setup page, new users will need it."
    )
    assert len(split_issues(text, split_rules).issues) == 3


def test_side_note_starts_a_new_problem_inside_a_paragraph(split_rules) -> None:
    text = (
        "The backup page disappeared from the admin panel with the last release. Is that intentional? "
        "On a side note, the new backup script is not installed by the setup and the README does not mention it."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "marker.unrelated" in _ids(result)


def test_aside_giving_the_version_is_detail(split_rules) -> None:
    text = (
        "Mail to one provider bounces with 550 5.7.1 since Monday, every other domain works.\n\n"
        "Btw, I am on version 2.3 of the Docker image, installed last spring."
    )
    assert not split_issues(text, split_rules).combined


def test_marker_in_german_splits(split_rules) -> None:
    text = (
        "Seit dem Update kommen keine Mails mehr von externen Absendern an, das Log zeigt nichts.\n\n"
        "Noch eine andere Frage: wie kann ich das Passwort des Admin-Kontos zurücksetzen?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "marker.another-issue" in _ids(result)


def test_and_question_after_a_question_splits_at_a_new_paragraph(split_rules) -> None:
    text = (
        "Can the server fetch mail from an external IMAP account on a schedule?\n\n"
        "And can new mail raise a push notification on the phone app?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_second_list_under_its_own_lead_is_not_more_items_of_the_first(split_rules) -> None:
    text = (
        "Two problems I'm facing:\n"
        "1. The newsletter tool says a campaign was sent to everyone, yet nobody receives it.\n"
        "2. Testing the relay login always succeeds, even with a wrong password.\n\n"
        "On the relay provider's side:\n"
        "1. The SMTP user shows no recent activity\n"
        "2. The metrics page shows nothing at all"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts[1] == text.index("2. Testing")
    assert "On the relay provider's side:" in result.issues[1]


def test_list_of_reasons_argues_for_one_request(split_rules) -> None:
    text = (
        "Please let the sync add-on take over the role of the personal address book.\n\n"
        "Reasons are:\n"
        "1. The personal address book is the only one whose role cannot be reassigned, so "
        "collected addresses always end up in the wrong book.\n"
        "2. Other address books cannot be used in message filters or in the junk settings, "
        "which is where our users need them most."
    )
    assert not split_issues(text, split_rules).combined


def test_chinese_enumeration_of_feature_requests_splits(split_rules) -> None:
    # "Could you add the following features: 1、sending mail  2、IMAP login"
    text = "你好，能否添加如下功能\n1、添加发信功能，可以通过外部服务发送\n2、支持IMAP登录，方便客户端使用"
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts[1] == text.index("2、")


def test_lead_complaining_of_many_bugs_announces_them(split_rules) -> None:
    text = (
        "The client has a lot of bugs since I switched from the old one.\n\n"
        "- Links pasted into a message lose their formatting and look different from typed ones.\n"
        "- Switching accounts does not switch the signature, so replies go out with the wrong one.\n"
        "- Every tenth message is sent empty, the recipient gets a blank mail."
    )
    assert len(split_issues(text, split_rules).issues) == 3


def test_arrow_bullets_are_list_items(split_rules) -> None:
    text = (
        "Hi, found these in the new webmail:\n"
        '-> contacts : "something wrong" error message, does not work at all\n'
        "-> calendar : unable to add an event, the save button stays grey"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_points_under_numbered_items_belong_to_their_item(split_rules) -> None:
    text = (
        "Some remarks after a week with the admin panel:\n\n"
        "1. The welcome page after login is not useful for an admin\n"
        "- it would be more logical to open the mailbox list\n"
        "- the page loads slowly\n\n"
        "2. How do I generate the DKIM key for a new domain? It is not created by default.\n"
        "- the docs do not mention it\n"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts[1] == text.index("2. How")
    assert "the page loads slowly" in result.issues[0]


def test_announced_requests_without_problem_words_split(split_rules) -> None:
    # "I like the tool, but a few things would be useful: 1. public sign-up approved by the
    # admin 2. a backup of the mail folders and the database, uploaded to another server"
    text = (
        "Das Tool gefällt mir, allerdings wären noch ein paar Sachen nützlich.\n"
        "1. Ein öffentliches Anlegen von Benutzern mit Freischaltung durch den Administrator\n"
        "2. Eine Backup-Funktion für die Mailverzeichnisse und die Datenbank, mit Upload (ftp)\n\n"
        "Ich versuche das gerade selbst umzusetzen ;)"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts == [text.index("1. Ein"), text.index("2. Eine")]


def test_lead_above_a_list_does_not_split_the_closing_line(split_rules) -> None:
    text = (
        "I have multiple issues with the new install. Here are the issues:\n\n"
        "- The program only downloads 99 messages and marks them all unread.\n"
        "- It doesn't send mail, it just hangs in the outbox.\n\n"
        "Thanks, please ask me for any further info on my system."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.issues[1].rstrip().endswith("on my system.")


def test_writer_calling_it_one_problem_keeps_a_list_together(split_rules) -> None:
    text = (
        "Some tickets show up in the mailbox but never in the helpdesk. We saw it like this:\n\n"
        "1. Two mails with different subjects were sent from an outside address; one became a ticket, the other did not.\n"
        "2. A customer answered one of our replies, and the answer is only in the mailbox.\n\n"
        "Any idea what the problem could be here?"
    )
    result = split_issues(text, split_rules)
    assert not result.combined
    assert any(s["id"] == "one-issue.this-problem" for s in result.signals)


def test_numbered_scenarios_are_cases_of_one_problem(split_rules) -> None:
    text = (
        "We had two scenarios here:\n"
        "1. A mail sent to the support address never became a ticket, although it is in the mailbox.\n"
        "2. A reply from a customer is missing in the conversation, though it reached the mailbox."
    )
    assert not split_issues(text, split_rules).combined


def test_asking_something_else_in_addition_splits(split_rules) -> None:
    text = (
        "The server rejects logins from the phone app with 'invalid credentials' although the "
        "same password works in the webmail. I would appreciate any help on the matter.\n\n"
        "I'd also like to ask how I can share these calendars with many users at once."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "marker.another-issue" in _ids(result)


def test_ps_with_a_new_question_is_not_a_version_note(split_rules) -> None:
    text = (
        "Can the scheduler export the free/busy times of every room as one calendar feed?\n\n"
        "PS: Is there any other tool to book meeting rooms from the calendar, since ours keeps failing?"
    )
    result = split_issues(text, split_rules)
    assert not any(s["id"] == "veto.ps-version" for s in result.signals)


def test_list_of_missing_features_and_annoyances_splits(split_rules) -> None:
    text = (
        "- App start-up time is too long on older phones.\n"
        "- No way to edit signatures per identity.\n"
        "- The folder list is cluttered with system folders that cannot be hidden."
    )
    assert len(split_issues(text, split_rules).issues) == 3


def test_ps_asking_something_else_splits(split_rules) -> None:
    text = (
        "Can the calendar server compute free/busy times from a shared room calendar and publish them?\n\n"
        "PS: Is there any other tool to schedule meetings automatically from several calendars?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "marker.aside-question" in _ids(result)


def test_also_asking_for_a_feature_splits(split_rules) -> None:
    text = (
        "Reading our own address book through the sync option returns an empty list, although "
        "the contacts are visible in the web client.\n\n"
        "Also, would you consider adding an API call that lists every shared address book?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


# Shapes from the modelled set (bench/data/split_eval_modelled.jsonl), the first five of which
# split wrongly when that set was first measured blind.


def test_checkbox_answers_other_than_x_are_not_items(split_rules) -> None:
    text = (
        "### Prerequisites\n\n"
        "* [yes, on two servers] Can you reproduce the problem on a fresh install of the latest release?\n"
        "* [No ] Are there any errors in the PHP log or the browser console?\n"
        "* [ yes] Did you search the existing issues to see if this is already reported?\n\n"
        "**Expected behavior:** Mail keeps being fetched by the cron job after the move to the new host.\n\n"
        "**Actual behavior:** Nothing is fetched any more and the log stays empty."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_result_arrow_under_a_command_is_not_an_item(split_rules) -> None:
    text = (
        "I went through the readme and tried several variants, none of them succeed.\n\n"
        "1.Without any password option\n"
        "imapsync --host1 imap.provider.net --user1 me --oauthaccesstoken1 abc123\n"
        "-> Host1 failure: login rejected with invalid credentials\n\n"
        "2.With the token in a file\n"
        "imapsync --host1 imap.provider.net --user1 me --oauthaccesstoken1 /root/token.txt\n"
        "-> Host1 failure: login rejected again, nothing else in the output\n\n"
        "What am I doing wrong?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_an_item_that_refers_back_to_another_is_part_of_it(split_rules) -> None:
    text = (
        "1. An internal error occurred on the server. Please try again later.\n"
        "2. Since the upgrade to 1.6 that message keeps coming up for all our users\n\n"
        "Does anybody know what causes it?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_items_that_explain_config_keys_are_one_request(split_rules) -> None:
    text = (
        "It would be nice to support several DKIM selectors per domain with a selector map.\n\n"
        "```\ntry_fallback = true;\npath = \"/var/lib/dkim/$domain.$selector.key\";\nselector_map = \"/etc/maps/selectors.map\";\n```\n\n"
        "- `try_fallback = true;` lets the signer fall back to the default selector when none is mapped.\n"
        "- `selector_map` is a plain file of domain and selector pairs that the setup script could write out.\n"
        "- `path` is the template for the key files, with the domain and the selector filled in."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_also_cannot_reproduce_adds_detail(split_rules) -> None:
    text = (
        "Uploads of attachments over 2 MB fail with 'Server error' for some of our users.\n\n"
        "Also, we cannot reproduce it on the office network; only people working from home see it, "
        "and only now and then."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_separately_starts_a_new_question(split_rules) -> None:
    text = (
        "Outgoing mail has been stuck in the queue since this morning; the worker log shows an error "
        "about a missing method and nothing is delivered.\n\n"
        "Separately, is there a diagram that shows how the services of the mail platform fit together?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2 and "marker.also" in _ids(result)


def test_dash_numbered_questions_are_items(split_rules) -> None:
    text = (
        "1- My delivery plugin always gets an empty body, what am I doing wrong?\n\n"
        "2- Why do plugins on the data hook never run while the ones on the recipient hook do?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_a_host_name_under_example_dot_is_not_an_example(split_rules) -> None:
    text = (
        "Our server is mail.example.net, running the current release.\n\n"
        "1. Mail to our sales address bounces with 'mailbox unavailable' since Monday.\n"
        "2. How do I add a second domain to the spam filter?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_a_stray_backtick_in_a_log_line_ends_with_its_paragraph(split_rules) -> None:
    text = (
        "All outgoing mail is stuck in the queue with 'no delivery attempts yet'. The worker log says:\n"
        "[worker.1] WARN -- : NoMethodError: undefined method `find_by_id' for the queue class\n\n"
        "Separately, is there a diagram that shows how the services of the mail platform fit together?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_bracketed_area_tags_are_items_not_checkboxes(split_rules) -> None:
    text = (
        "1. [Calendar] Events created on the phone never show up in the web calendar.\n"
        "2. [Contacts] How can I import a vCard file with several hundred contacts at once?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_a_lead_that_counts_its_items_vouches_for_short_requests(split_rules) -> None:
    text = (
        "Hello, can the webmail do any of these three things?\n\n"
        "1. Force users to change their password every 90 days\n"
        "2. Warn a user when the mailbox is over quota\n"
        "3. Limit how many messages a user can send\n\n"
        "Thanks"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 3 and all(i.startswith("Hello, can the webmail") for i in result.issues)


def test_a_feature_template_with_a_list_of_consequences_is_one_request(split_rules) -> None:
    text = (
        "### Describe the feature or change in detail\n\n"
        "Right now a mail domain is tied to whatever address its web domain uses, and that leads to several headaches:\n\n"
        "1. The web address ends up on a blocklist, or you want to keep mail on fewer addresses\n"
        "2. On mail-only hosts the address change script misbehaves as the web address never changes.\n\n"
        "This came up before and ought to be fixed...\n\n"
        "### Would you like to sponsor this feature?\n\n"
        "No"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_spaced_ps_with_a_new_question_splits(split_rules) -> None:
    text = (
        "hello\n"
        "new mail gives me no sound and no notification at all on my phone\n\n"
        "ps . the beta from the releases page installs, but android refuses some of the permissions it asks for, "
        "and is the build on the releases page different from the one in the store?"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_a_line_break_after_a_long_sentence_starts_a_paragraph(split_rules) -> None:
    text = (
        "Could a click on a server's name in the folder menu open that server's folder settings page, please? "
        "Right now the name is not a link at all.\n"
        "Also, the sent folder could be picked automatically when a folder called Sent exists; without it "
        "outgoing mail is not kept, and I did not know that I had to choose one."
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_further_ideas_under_a_form_heading_are_separate_requests(split_rules) -> None:
    text = (
        "## Description\n"
        "A contact blocked after bounces cannot be subscribed again.\n\n"
        "## Steps to reproduce\n"
        "1. Add an address that bounces\n"
        "2. Send until the contact is blocked\n"
        "3. Remove the bounce tag on the contact page: the server answers 500 Internal Server Error\n\n"
        "## Further improvement ideas:\n\n"
        "- Show the number of bounces for each campaign\n"
        "- Let the contact search find the contacts that are blocked after bounces\n"
        "- Mark the blocked contacts with an icon in the list of all contacts\n"
        "- Send a notice to the admin when a contact gets blocked\n"
    )
    # The report above the ideas leads into them, so it goes with each one (as a preamble).
    issues = split_issues(text, split_rules).issues
    assert len(issues) == 4 and all(i.startswith("## Description") for i in issues)


def test_the_writer_calling_it_symptoms_holds_an_also_paragraph(split_rules) -> None:
    text = (
        "Since an hour ago attachments cannot be added to new messages any more in the webmail.\n\n"
        "Also, no new mail is arriving at all.\n\n"
        "Based on these symptoms, is it my installation or the hosting company?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_ps_that_ties_a_symptom_to_what_came_before_is_detail(split_rules) -> None:
    text = (
        "What I have tried so far:\n"
        "- plain aliases\n"
        "- an alias domain\n"
        "- forwarding to an outside address\n\n"
        "None of them has any effect. How do I find out why?\n\n"
        "PS: Nothing comes back as a bounce either"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_an_also_that_states_a_new_problem_on_its_own_still_splits(split_rules) -> None:
    text = (
        "Our Dovecot does not index new mail any more, so search finds nothing after Monday.\n\n"
        "Also, invitations from the webmail calendar reach outside guests without the ics part instead of with it."
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_a_veto_right_after_a_weak_marker_holds(split_rules) -> None:
    text = (
        "The IMAP and LMTP services keep pushing memory into swap until the monitor warns us; "
        "restarting them helps for a day only.\n\n"
        "P.S. The logs don't show any errors about delivery or storage.\n\n"
        "Any thoughts?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_template_questions_make_a_form(split_rules) -> None:
    text = (
        "* Which version of the mail app are you using? [e.g. 1.3.1]\n"
        "2.0.1\n"
        "* Which operating system are you using? [e.g. Windows 10, Ubuntu 22.04]\n"
        "macOS 14\n\n"
        "The keyboard shortcuts only work in the first account, not in the second one, which fails every time."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_another_point_worth_mentioning_is_detail(split_rules) -> None:
    text = (
        "People who sign up through the form never get the confirmation mail and are not subscribed; "
        "it happens with one of our newsletter accounts only.\n\n"
        "Another point worth mentioning: that account has single opt-in switched off because of an abuse score, "
        "so the form is set to double opt-in, which did not change anything."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_bulleted_template_questions_make_a_form(split_rules) -> None:
    text = (
        "- What were you trying to do?\n\n"
        "Send a short HTML message through the provider's submission port; on my machine it goes out fine.\n\n"
        "- What happened?\n\n"
        "On the server the login fails with 535 authentication unsuccessful, and nothing is sent."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_minor_second_thing_starts_a_new_issue(split_rules) -> None:
    text = (
        "In one of my IMAP accounts the older messages are listed in the wrong order.\n\n"
        "A minor second thing: after choosing All Mailboxes, the selector still shows the name of the mailbox "
        "I had open before."
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_further_with_a_new_request_splits(split_rules) -> None:
    text = (
        "Our agents look up known fixes in a shared spreadsheet and paste them into the resolution field by hand. "
        "How could we automate that?\n\n"
        "Further, on the ticket form the category and product dropdowns should narrow each other down, "
        "to make creating a ticket easier."
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_then_comes_the_second_problem_splits(split_rules) -> None:
    text = (
        "A digest from the list server was refused by the local delivery agent: the envelope sender "
        "was expanded to an empty address and the agent rejected it.\n\n"
        "I removed the sender option and retried the queued message:\n"
        "1. restarted the daemon\n"
        "2. `queuectl retry 4f2a`\n\n"
        "Then comes the second problem: the retried message still carries the old delivery command, "
        "so the new configuration is never read for it."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts[1] == text.index("Then comes")
    assert "marker.another-issue" in _ids(result)


def test_also_since_the_same_update_is_not_a_tie_back(split_rules) -> None:
    # "the same update" dates the second problem; it does not say it is the first one again.
    text = (
        "Since the last update the mailbox fetcher reports 'folder is empty' for two of our shared "
        "mailboxes, although new messages are waiting there.\n\n"
        "Also, since the same update, the signature editor no longer saves images in our templates."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert {"marker.also", "topic.shift"} <= _ids(result)


def test_also_the_same_error_ties_back(split_rules) -> None:
    text = (
        "Since the last update the mailbox fetcher reports 'folder is empty' for two of our shared "
        "mailboxes, although new messages are waiting there.\n\n"
        "Also, the signature editor on that host shows the same error in its own log panel."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_it_would_also_be_good_to_starts_a_wish(split_rules) -> None:
    text = (
        "The add-on marks the signature of our newsletter as invalid, while two online checkers "
        "report that the same message passes.\n\n"
        "It would also be good to be able to open a more detailed report from the context menu."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert {"marker.also", "topic.shift"} <= _ids(result)


def test_something_happening_several_times_states_a_problem(split_rules) -> None:
    text = (
        "Our shared address book no longer loads in the desktop client; the sync log ends with a "
        "parse error on the first card.\n\n"
        "Also, the phone app sends each outgoing reply two or three times."
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_headings_of_two_kinds_split_at_each(split_rules) -> None:
    text = (
        "The calendar add-on for the webmail shows the week view fine.\n\n"
        "**Typo in the settings page**:\n"
        "The label reads 'Reminder ofset' instead of 'Reminder offset', an error on every page load of the settings.\n\n"
        "**Feature request:**\n"
        "Let each user pick the folder where exported invitations are stored, with 'Invites' as the default.\n\n"
        "**Question:**\n"
        "The about page no longer lists the add-on's version. Was that removed on purpose?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 3
    assert result.starts[1] == text.index("**Feature request:**")
    assert result.starts[2] == text.index("**Question:**")
    assert "section.kind-heading" in _ids(result)


def test_one_kind_of_heading_is_a_label_not_a_cut(split_rules) -> None:
    text = (
        "The export of an address book drops the birthday of every contact.\n\n"
        "**Feature request:**\n"
        "Keep the birthday field in the exported file, so that the import on the phone finds it again."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_marker_after_ps_is_read_too(split_rules) -> None:
    text = (
        "I want to move about ten mailboxes with their aliases from an old server with a database "
        "backend into the container setup. How do I bring the users over without losing mail?\n\n"
        "P.S.  Somewhat unrelated, I'd also like to hear how others expose the container publicly, "
        "for example on a small rented machine behind a firewall."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts[1] == text.index("P.S.")
    assert "marker.unrelated" in _ids(result)


def test_a_lead_announcing_functions_splits_its_items(split_rules) -> None:
    text = (
        "Would you build a few additions for us as paid work?\n\n"
        "We need these functions:\n"
        "- separate outgoing queues for each large receiving provider, so that one slow provider does not hold up the rest\n"
        "- pausing the whole queue automatically when a provider answers with a spam rejection\n"
        "- sending from a pool of addresses, with several pools that can be configured per domain"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 3
    assert "lead.several-problems" in _ids(result)


def test_id_also_suggest_starts_a_new_request(split_rules) -> None:
    text = (
        "The guide for the phone setup does not say which proxy setting the sync app needs; my "
        "notes synced but the task list never did until I changed the proxy type.\n\n"
        "I'd also suggest naming one recommended to-do app on the page, since newcomers skip that step."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "marker.also" in _ids(result)


def test_a_spanish_lead_that_states_a_failure_keeps_its_symptoms(split_rules) -> None:
    text = (
        "Creo que algo falla en el envío de correo del foro.\n"
        "- Un usuario nuevo se registró y nunca recibió el correo de activación, tuve que activarlo a mano.\n"
        "- El correo de prueba desde el panel de administración termina siempre con un error.\n\n"
        "El último correo enviado es de hace tres semanas."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_two_additions_announce_their_items(split_rules) -> None:
    text = (
        "Thanks for the panel! I'd like to suggest two additions:\n\n"
        "1. **A newer webmail release in the one-click installer:**\n"
        "   - offer the current major version and its PHP requirements.\n\n"
        "2. **A message broker in the service manager:**\n"
        "   - with start and stop buttons and an editor for its configuration file."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "lead.several-problems" in _ids(result)


def test_there_should_be_an_option_is_a_request(split_rules) -> None:
    text = (
        "The installer printed several errors and afterwards the panel is not reachable on its port; "
        "the browser only shows the default page of the web server.\n\n"
        "Also there should be an option for running it behind a reverse proxy"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_numbered_items_run_on_past_a_colon_in_the_first_item(split_rules) -> None:
    text = (
        "After installing the scanner I ran into a few issues:\n\n"
        "1. The scanner configuration has\n"
        "Incoming Queue Dir = /var/spool/mta/hold\n\n"
        "shouldn't it rather be:\n"
        "Incoming Queue Dir = /var/spool/mta/incoming\n\n"
        "2. The web front end says it cannot read the hold folder, and the status page shows red for both services.\n\n"
        "3. It is not clear to me how spam gets into the quarantine so that I can train it."
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 3
    assert result.starts[1] == text.index("2. The web")


def test_items_numbered_1_dash_paren_with_the_text_below_split(split_rules) -> None:
    text = (
        "1-)\n"
        "How do I clear the logs and the stored mail of the container once I have read it?\n\n"
        "2-)\n"
        "How do I turn on TLS for logins? Right now passwords cross our network unencrypted.\n\n"
        "3-) Now and then the desktop client says that fetching failed. Where can I see why?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 3
    assert result.starts[1] == text.index("2-)")


def test_chinese_items_numbered_with_a_full_width_comma_split(split_rules) -> None:
    text = (
        "1，通过 api 发信速度不对，看起来是轮询的，大概三十秒一次，用户要等很久才收到\n"
        "2，希望 api 发信也能看到发送记录，现在没法查\n"
    )
    assert len(split_issues(text, split_rules).issues) == 2


def test_kind_headings_inside_a_fenced_block_are_pasted_text(split_rules) -> None:
    text = (
        "Our issue template renders wrongly in the helpdesk's web form; this is what it sends:\n\n"
        "```\n"
        "**Bug:**\n"
        "describe it here\n\n"
        "**Question:**\n"
        "ask it here\n"
        "```\n\n"
        "The bold markers show up as asterisks in the ticket instead of bold text."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_pasted_screenshot_does_not_change_the_subject(split_rules) -> None:
    # The words of an image's address are not words of the text.
    text = (
        "I'm new to this distribution and like it. When I start the mail client on the desktop edition, "
        "it says that the personal information service is not running and cannot be used without it.\n\n"
        "Also, clicking \"Start\" does nothing.\n\n"
        "![pim-service-error](https://user-images.example.com/1234/pim-service-error-dialog.png)"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_one_word_follow_up_question_is_no_new_subject(split_rules) -> None:
    text = (
        "I enabled the ACL plugin and shared one of my folders with a colleague through the "
        "webmail's sharing dialog. How is he supposed to find out that something was shared with him?\n"
        "And where does he open it?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_link_keeps_its_text_as_words(split_rules) -> None:
    # "[Radicale](...)" names Radicale; the P.S. about Radicale continues the request.
    text = (
        "Calendars and contacts are the only things the suite still lacks. [Radicale](https://radicale.example.org/) "
        "could serve CalDAV and CardDAV, and the address book could show up in the webmail through a plugin.\n\n"
        "P.S. Radicale 2 seems to be [almost out](https://git.example.org/radicale/issues/372)."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_something_else_as_a_guess_is_no_marker(split_rules) -> None:
    text = (
        "Every sender identity I had set up in the webmail is gone since this morning.\n\n"
        "I can think of two explanations:\n"
        "a. The phone's mail app changed them when it synced.\n"
        "b. Something else...? A bug in the webmail, or a database problem because some fields were left empty?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_story_told_as_a_list_is_one_issue(split_rules) -> None:
    text = (
        "A short story:\n\n"
        "- I installed the new server release, and it does not come with an address book app.\n"
        "- So I went looking in the app store, and it is not there either.\n"
        "- I searched the project's code hosting too, but found nothing that looked like that app.\n"
        "- In the end I took the one from the older sister project, and it works fine.\n\n"
        "Why is the address book app missing from the store when the documentation describes it?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_my_questions_are_announces_the_items(split_rules) -> None:
    text = (
        "The documentation describes an address book app next to the calendar app, but only the calendar "
        "is in the app store.\n\n"
        "So my questions are:\n\n"
        "- Is there an official address book app for this release, or should we use the older project's one?\n"
        "- Can the instructions for setting up the shared calendars be updated for the new admin page?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert "lead.several-problems" in _ids(result)


def test_my_question_is_announces_one_question(split_rules) -> None:
    text = (
        "Mail accounts already set themselves up through our autoconfig file, but I found nothing about how "
        "the client discovers address books and calendars.\n\n"
        "So my question is:\n\n"
        "- How do I offer that discovery for contacts and calendars as well, not only for mail?\n"
        "- Is there documentation about it that I overlooked?"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_ps_on_the_next_line_is_not_read_as_part_of_a_question_marker(split_rules) -> None:
    text = (
        "Since early June the panel applet for my webmail account shows 'authentication failed, invalid "
        "credentials', although the same credentials work in the browser.\n\n"
        "Any idea what is happening? And how can I fix it?\n"
        "P.S. Sorry for my slow replies lately, this problem ate my week :)"
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_german_reproduction_steps_are_steps(split_rules) -> None:
    text = (
        "Nach der zweiten Synchronisation fehlen Serientermine wie Geburtstage im Kalender.\n\n"
        "Ablauf:\n"
        "1. In der Desktop-App einen jährlichen Serientermin und zwei normale Termine anlegen, die Verbindung klappt.\n"
        "2. Manuell synchronisieren, alle drei Termine landen als Dateien auf dem Server, kein Fehler.\n"
        "3. Ein zweites Mal synchronisieren, der Serientermin ist in der App verschwunden, die anderen nicht."
    )
    assert len(split_issues(text, split_rules).issues) == 1


def test_a_list_of_consequences_under_impact_is_one_issue(split_rules) -> None:
    text = (
        "The webhook endpoint answers 500 for delivery events of messages it does not know, for example "
        "mail sent by another service on the same provider account.\n\n"
        "Impact:\n"
        "1. The provider's webhook is account-wide, so every event of the other services reaches our endpoint and fails.\n"
        "2. After eight failed retries the provider disables the webhook automatically without telling anyone.\n"
        "3. Our own messages then no longer get delivered or bounced status updates, which breaks the reports."
    )
    assert len(split_issues(text, split_rules).issues) == 1
