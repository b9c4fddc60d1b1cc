"""The fault tests report their counts in the test command's own output: a
test records them as the user property ``fault_summary`` (before it asserts,
so they show on failure too) and this hook prints them after the run."""


def pytest_terminal_summary(terminalreporter):
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, text in getattr(report, "user_properties", ()):
                if name == "fault_summary" and report.when == "call":
                    terminalreporter.write_sep("-", f"fault tests ({outcome}): {report.nodeid}")
                    terminalreporter.write_line(text)
