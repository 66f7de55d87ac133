-- Attempt limits (failed logins, temporary-password requests) shared by
-- every server process. One row per limited key: the window it is in and
-- how many attempts that window has admitted. UNLOGGED: the rows are
-- short-lived and a crash that empties the table only forgives attempts.
CREATE UNLOGGED TABLE attempt_windows (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    window_start timestamptz NOT NULL,
    attempts     integer     NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX attempt_windows_window_start_idx ON attempt_windows (window_start);
