CREATE SCHEMA read_model;
CREATE TABLE public.alert_digest (
    receiver text NOT NULL,
    slot timestamp with time zone NOT NULL,
    notification_id uuid NOT NULL,
    entries jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE public.alert_history (
    id bigint NOT NULL,
    alert_id text NOT NULL,
    rule text NOT NULL,
    subject text NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    at timestamp with time zone NOT NULL,
    episode integer NOT NULL,
    value double precision,
    numerator bigint,
    denominator bigint,
    target double precision,
    severity text DEFAULT ''::text NOT NULL,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    annotations jsonb DEFAULT '{}'::jsonb NOT NULL,
    note text
);
CREATE SEQUENCE public.alert_history_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.alert_history_id_seq OWNED BY public.alert_history.id;
CREATE TABLE public.alert_state (
    alert_id text NOT NULL,
    rule text NOT NULL,
    subject text NOT NULL,
    status text NOT NULL,
    since timestamp with time zone,
    fired_at timestamp with time zone,
    episode integer DEFAULT 0 NOT NULL,
    value double precision,
    numerator bigint,
    denominator bigint,
    observed_at timestamp with time zone,
    last_event_at timestamp with time zone,
    target double precision,
    last_notified_at timestamp with time zone,
    notified_count integer DEFAULT 0 NOT NULL,
    severity text DEFAULT ''::text NOT NULL,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    annotations jsonb DEFAULT '{}'::jsonb NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT alert_state_status_check CHECK ((status = ANY (ARRAY['inactive'::text, 'pending'::text, 'firing'::text, 'resolved'::text])))
);
CREATE TABLE public.backlog_due (
    unit_code text NOT NULL,
    due_day date NOT NULL,
    running bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.backlog_units (
    unit_code text NOT NULL,
    in_progress bigint DEFAULT 0 NOT NULL,
    paused bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.dossier_state (
    dossier_id text NOT NULL,
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    received_at timestamp with time zone,
    due_at timestamp with time zone,
    completion_due_at timestamp with time zone,
    fee_bearing boolean,
    completed_at timestamp with time zone,
    outcome text,
    pauses timestamp with time zone[] DEFAULT '{}'::timestamp with time zone[] NOT NULL,
    resumes timestamp with time zone[] DEFAULT '{}'::timestamp with time zone[] NOT NULL,
    supplements integer DEFAULT 0 NOT NULL,
    paid_at timestamp with time zone,
    payment_channel text,
    in_progress boolean DEFAULT false NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    running_due timestamp with time zone,
    touched_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE public.index766_days (
    unit_code text NOT NULL,
    day date NOT NULL,
    started bigint DEFAULT 0 NOT NULL,
    ended bigint DEFAULT 0 NOT NULL,
    on_time bigint DEFAULT 0 NOT NULL,
    within_due_delta bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.kpi_counts_daily (
    day date NOT NULL,
    unit_code text NOT NULL,
    received bigint DEFAULT 0 NOT NULL,
    received_online bigint DEFAULT 0 NOT NULL,
    received_postal bigint DEFAULT 0 NOT NULL,
    received_full_online bigint DEFAULT 0 NOT NULL,
    received_online_capable bigint DEFAULT 0 NOT NULL,
    received_digitized bigint DEFAULT 0 NOT NULL,
    essential_received bigint DEFAULT 0 NOT NULL,
    essential_received_online bigint DEFAULT 0 NOT NULL,
    completed bigint DEFAULT 0 NOT NULL,
    completed_electronic bigint DEFAULT 0 NOT NULL,
    completed_with_due bigint DEFAULT 0 NOT NULL,
    completed_on_time bigint DEFAULT 0 NOT NULL,
    rated bigint DEFAULT 0 NOT NULL,
    rated_satisfied bigint DEFAULT 0 NOT NULL,
    feedback_closed bigint DEFAULT 0 NOT NULL,
    feedback_on_time bigint DEFAULT 0 NOT NULL,
    feedback_scored bigint DEFAULT 0 NOT NULL,
    feedback_satisfied bigint DEFAULT 0 NOT NULL,
    paid bigint DEFAULT 0 NOT NULL,
    paid_online bigint DEFAULT 0 NOT NULL,
    received_fee_bearing bigint DEFAULT 0 NOT NULL,
    received_population_known bigint DEFAULT 0 NOT NULL,
    received_population_data bigint DEFAULT 0 NOT NULL,
    received_reused_known bigint DEFAULT 0 NOT NULL,
    received_reused_data bigint DEFAULT 0 NOT NULL,
    received_personal_store_known bigint DEFAULT 0 NOT NULL,
    received_personal_store bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.kpi_counts_hourly (
    bucket timestamp with time zone NOT NULL,
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    received bigint DEFAULT 0 NOT NULL,
    received_online bigint DEFAULT 0 NOT NULL,
    received_postal bigint DEFAULT 0 NOT NULL,
    received_full_online bigint DEFAULT 0 NOT NULL,
    received_online_capable bigint DEFAULT 0 NOT NULL,
    received_digitized bigint DEFAULT 0 NOT NULL,
    essential_received bigint DEFAULT 0 NOT NULL,
    essential_received_online bigint DEFAULT 0 NOT NULL,
    completed bigint DEFAULT 0 NOT NULL,
    completed_electronic bigint DEFAULT 0 NOT NULL,
    completed_with_due bigint DEFAULT 0 NOT NULL,
    completed_on_time bigint DEFAULT 0 NOT NULL,
    rated bigint DEFAULT 0 NOT NULL,
    rated_satisfied bigint DEFAULT 0 NOT NULL,
    feedback_closed bigint DEFAULT 0 NOT NULL,
    feedback_on_time bigint DEFAULT 0 NOT NULL,
    feedback_scored bigint DEFAULT 0 NOT NULL,
    feedback_satisfied bigint DEFAULT 0 NOT NULL,
    paid bigint DEFAULT 0 NOT NULL,
    paid_online bigint DEFAULT 0 NOT NULL,
    received_fee_bearing bigint DEFAULT 0 NOT NULL,
    received_population_known bigint DEFAULT 0 NOT NULL,
    received_population_data bigint DEFAULT 0 NOT NULL,
    received_reused_known bigint DEFAULT 0 NOT NULL,
    received_reused_data bigint DEFAULT 0 NOT NULL,
    received_personal_store_known bigint DEFAULT 0 NOT NULL,
    received_personal_store bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.kpi_counts_unit_hourly (
    bucket timestamp with time zone NOT NULL,
    unit_code text NOT NULL,
    received bigint DEFAULT 0 NOT NULL,
    received_online bigint DEFAULT 0 NOT NULL,
    received_postal bigint DEFAULT 0 NOT NULL,
    received_full_online bigint DEFAULT 0 NOT NULL,
    received_online_capable bigint DEFAULT 0 NOT NULL,
    received_digitized bigint DEFAULT 0 NOT NULL,
    essential_received bigint DEFAULT 0 NOT NULL,
    essential_received_online bigint DEFAULT 0 NOT NULL,
    completed bigint DEFAULT 0 NOT NULL,
    completed_electronic bigint DEFAULT 0 NOT NULL,
    completed_with_due bigint DEFAULT 0 NOT NULL,
    completed_on_time bigint DEFAULT 0 NOT NULL,
    rated bigint DEFAULT 0 NOT NULL,
    rated_satisfied bigint DEFAULT 0 NOT NULL,
    feedback_closed bigint DEFAULT 0 NOT NULL,
    feedback_on_time bigint DEFAULT 0 NOT NULL,
    feedback_scored bigint DEFAULT 0 NOT NULL,
    feedback_satisfied bigint DEFAULT 0 NOT NULL,
    paid bigint DEFAULT 0 NOT NULL,
    paid_online bigint DEFAULT 0 NOT NULL,
    received_fee_bearing bigint DEFAULT 0 NOT NULL,
    received_population_known bigint DEFAULT 0 NOT NULL,
    received_population_data bigint DEFAULT 0 NOT NULL,
    received_reused_known bigint DEFAULT 0 NOT NULL,
    received_reused_data bigint DEFAULT 0 NOT NULL,
    received_personal_store_known bigint DEFAULT 0 NOT NULL,
    received_personal_store bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.kpi_snapshot (
    kpi text NOT NULL,
    window_name text NOT NULL,
    unit_code text NOT NULL,
    unit_level text NOT NULL,
    numerator bigint NOT NULL,
    denominator bigint NOT NULL,
    ratio double precision,
    window_start timestamp with time zone NOT NULL,
    window_end timestamp with time zone NOT NULL,
    computed_at timestamp with time zone NOT NULL
);
CREATE TABLE public.notification_outbox (
    id bigint NOT NULL,
    notification_id uuid NOT NULL,
    receiver text NOT NULL,
    alert_id text NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    group_id uuid,
    CONSTRAINT notification_outbox_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'pending'::text, 'delivered'::text, 'failed'::text, 'grouped'::text])))
);
CREATE SEQUENCE public.notification_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.notification_outbox_id_seq OWNED BY public.notification_outbox.id;
CREATE TABLE public.procedure_catalogue (
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    service_level text NOT NULL,
    origin text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT procedure_catalogue_origin_check CHECK ((origin = ANY (ARRAY['file'::text, 'event'::text]))),
    CONSTRAINT procedure_catalogue_service_level_check CHECK ((service_level = ANY (ARRAY['full_online'::text, 'partial_online'::text, 'offline'::text])))
);
CREATE TABLE public.procedure_online (
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    last_online_at timestamp with time zone NOT NULL
);
CREATE TABLE public.procedures (
    code text NOT NULL,
    name text NOT NULL,
    unit_level text NOT NULL,
    department_code text,
    service_level text NOT NULL,
    essential boolean NOT NULL,
    CONSTRAINT procedures_service_level_check CHECK ((service_level = ANY (ARRAY['full_online'::text, 'partial_online'::text, 'offline'::text]))),
    CONSTRAINT procedures_unit_level_check CHECK ((unit_level = ANY (ARRAY['department'::text, 'district'::text, 'commune'::text])))
);
CREATE TABLE public.processed_events (
    event_id uuid NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    processed_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE public.processing_time_daily (
    unit_code text NOT NULL,
    day date NOT NULL,
    procedure_code text NOT NULL,
    bin smallint NOT NULL,
    dossiers bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.silences (
    id uuid NOT NULL,
    matchers jsonb NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    author text NOT NULL,
    comment text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT silences_check CHECK ((ends_at > starts_at))
);
CREATE TABLE public.snapshot_changes (
    unit_code text NOT NULL
);
CREATE UNLOGGED TABLE public.snapshot_deltas (
    bucket timestamp with time zone NOT NULL,
    unit_code text NOT NULL,
    received bigint DEFAULT 0 NOT NULL,
    received_online bigint DEFAULT 0 NOT NULL,
    received_postal bigint DEFAULT 0 NOT NULL,
    received_full_online bigint DEFAULT 0 NOT NULL,
    received_online_capable bigint DEFAULT 0 NOT NULL,
    received_digitized bigint DEFAULT 0 NOT NULL,
    essential_received bigint DEFAULT 0 NOT NULL,
    essential_received_online bigint DEFAULT 0 NOT NULL,
    completed bigint DEFAULT 0 NOT NULL,
    completed_electronic bigint DEFAULT 0 NOT NULL,
    completed_with_due bigint DEFAULT 0 NOT NULL,
    completed_on_time bigint DEFAULT 0 NOT NULL,
    rated bigint DEFAULT 0 NOT NULL,
    rated_satisfied bigint DEFAULT 0 NOT NULL,
    feedback_closed bigint DEFAULT 0 NOT NULL,
    feedback_on_time bigint DEFAULT 0 NOT NULL,
    feedback_scored bigint DEFAULT 0 NOT NULL,
    feedback_satisfied bigint DEFAULT 0 NOT NULL,
    paid bigint DEFAULT 0 NOT NULL,
    paid_online bigint DEFAULT 0 NOT NULL,
    received_fee_bearing bigint DEFAULT 0 NOT NULL,
    received_population_known bigint DEFAULT 0 NOT NULL,
    received_population_data bigint DEFAULT 0 NOT NULL,
    received_reused_known bigint DEFAULT 0 NOT NULL,
    received_reused_data bigint DEFAULT 0 NOT NULL,
    received_personal_store_known bigint DEFAULT 0 NOT NULL,
    received_personal_store bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.source_activity (
    source text NOT NULL,
    last_occurred_at timestamp with time zone NOT NULL,
    last_processed_at timestamp with time zone NOT NULL,
    events bigint DEFAULT 0 NOT NULL
);
CREATE TABLE public.unit_activity (
    unit_code text NOT NULL,
    last_occurred_at timestamp with time zone NOT NULL
);
CREATE TABLE public.unit_aliases (
    alias text NOT NULL,
    unit_code text NOT NULL
);
CREATE TABLE public.unit_closure (
    ancestor_code text NOT NULL,
    descendant_code text NOT NULL,
    depth integer NOT NULL,
    CONSTRAINT unit_closure_depth_check CHECK ((depth >= 0))
);
CREATE TABLE public.units (
    code text NOT NULL,
    name text NOT NULL,
    level text NOT NULL,
    parent_code text,
    kind text,
    valid_from date,
    valid_to date,
    successor_code text,
    CONSTRAINT units_kind_check CHECK ((kind = ANY (ARRAY['commune'::text, 'ward'::text, 'special_zone'::text, 'township'::text]))),
    CONSTRAINT units_kind_for_communes CHECK (((kind IS NULL) OR (level = 'commune'::text))),
    CONSTRAINT units_level_check CHECK ((level = ANY (ARRAY['province'::text, 'department'::text, 'district'::text, 'commune'::text]))),
    CONSTRAINT units_valid_range CHECK (((valid_from IS NULL) OR (valid_to IS NULL) OR (valid_from <= valid_to)))
);
CREATE UNLOGGED TABLE public.usage_deltas (
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    last_online_at timestamp with time zone NOT NULL
);
CREATE VIEW read_model.backlog_current AS
 WITH own AS (
         SELECT backlog_units.unit_code,
            backlog_units.in_progress,
            backlog_units.paused,
            (0)::bigint AS overdue
           FROM public.backlog_units
        UNION ALL
         SELECT backlog_due.unit_code,
            0,
            0,
            backlog_due.running
           FROM public.backlog_due
          WHERE (backlog_due.due_day < ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh'::text))::date)
        UNION ALL
         SELECT dossier_state.unit_code,
            0,
            0,
            1
           FROM public.dossier_state
          WHERE ((dossier_state.running_due >= date_trunc('day'::text, now(), 'Asia/Ho_Chi_Minh'::text)) AND (dossier_state.running_due < now()))
        ), rolled AS (
         SELECT COALESCE(c.ancestor_code, o.unit_code) AS unit_code,
            (sum(o.in_progress))::bigint AS in_progress,
            (sum(o.overdue))::bigint AS overdue,
            (sum(o.paused))::bigint AS paused
           FROM (own o
             LEFT JOIN public.unit_closure c ON ((c.descendant_code = o.unit_code)))
          GROUP BY COALESCE(c.ancestor_code, o.unit_code)
        )
 SELECT COALESCE(u.code, r.unit_code) AS unit_code,
    COALESCE(u.level, 'unknown'::text) AS unit_level,
    COALESCE(r.in_progress, (0)::bigint) AS in_progress,
    COALESCE(r.overdue, (0)::bigint) AS overdue,
    COALESCE(r.paused, (0)::bigint) AS paused,
    now() AS as_of
   FROM (rolled r
     FULL JOIN public.units u ON ((u.code = r.unit_code)));
CREATE VIEW read_model.kpi_current AS
 SELECT kpi_snapshot.kpi,
    kpi_snapshot.window_name,
    kpi_snapshot.unit_code,
    kpi_snapshot.unit_level,
    kpi_snapshot.numerator,
    kpi_snapshot.denominator,
    kpi_snapshot.ratio,
    kpi_snapshot.computed_at
   FROM public.kpi_snapshot;
CREATE VIEW read_model.source_activity AS
 SELECT source_activity.source,
    source_activity.last_occurred_at
   FROM public.source_activity;
CREATE VIEW read_model.unit_activity AS
 SELECT COALESCE(c.ancestor_code, a.unit_code) AS unit_code,
    max(a.last_occurred_at) AS last_occurred_at
   FROM (public.unit_activity a
     LEFT JOIN public.unit_closure c ON ((c.descendant_code = a.unit_code)))
  GROUP BY COALESCE(c.ancestor_code, a.unit_code);
CREATE VIEW read_model.units AS
 SELECT units.code,
    units.name,
    units.level
   FROM public.units;
ALTER TABLE ONLY public.alert_history ALTER COLUMN id SET DEFAULT nextval('public.alert_history_id_seq'::regclass);
ALTER TABLE ONLY public.notification_outbox ALTER COLUMN id SET DEFAULT nextval('public.notification_outbox_id_seq'::regclass);
ALTER TABLE ONLY public.alert_digest
    ADD CONSTRAINT alert_digest_pkey PRIMARY KEY (receiver, slot);
ALTER TABLE ONLY public.alert_history
    ADD CONSTRAINT alert_history_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.alert_state
    ADD CONSTRAINT alert_state_pkey PRIMARY KEY (alert_id);
ALTER TABLE ONLY public.backlog_due
    ADD CONSTRAINT backlog_due_pkey PRIMARY KEY (unit_code, due_day);
ALTER TABLE ONLY public.backlog_units
    ADD CONSTRAINT backlog_units_pkey PRIMARY KEY (unit_code);
ALTER TABLE ONLY public.dossier_state
    ADD CONSTRAINT dossier_state_pkey PRIMARY KEY (dossier_id);
ALTER TABLE ONLY public.index766_days
    ADD CONSTRAINT index766_days_pkey PRIMARY KEY (unit_code, day);
ALTER TABLE ONLY public.kpi_counts_daily
    ADD CONSTRAINT kpi_counts_daily_pkey PRIMARY KEY (day, unit_code);
ALTER TABLE ONLY public.kpi_counts_hourly
    ADD CONSTRAINT kpi_counts_hourly_pkey PRIMARY KEY (bucket, unit_code, procedure_code);
ALTER TABLE ONLY public.kpi_counts_unit_hourly
    ADD CONSTRAINT kpi_counts_unit_hourly_pkey PRIMARY KEY (bucket, unit_code);
ALTER TABLE ONLY public.kpi_snapshot
    ADD CONSTRAINT kpi_snapshot_pkey PRIMARY KEY (kpi, window_name, unit_code);
ALTER TABLE ONLY public.notification_outbox
    ADD CONSTRAINT notification_outbox_notification_id_receiver_key UNIQUE (notification_id, receiver);
ALTER TABLE ONLY public.notification_outbox
    ADD CONSTRAINT notification_outbox_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.procedure_catalogue
    ADD CONSTRAINT procedure_catalogue_pkey PRIMARY KEY (unit_code, procedure_code);
ALTER TABLE ONLY public.procedure_online
    ADD CONSTRAINT procedure_online_pkey PRIMARY KEY (unit_code, procedure_code);
ALTER TABLE ONLY public.procedures
    ADD CONSTRAINT procedures_pkey PRIMARY KEY (code);
ALTER TABLE ONLY public.processed_events
    ADD CONSTRAINT processed_events_pkey PRIMARY KEY (event_id);
ALTER TABLE ONLY public.processing_time_daily
    ADD CONSTRAINT processing_time_daily_pkey PRIMARY KEY (unit_code, day, procedure_code, bin);
ALTER TABLE ONLY public.silences
    ADD CONSTRAINT silences_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.snapshot_changes
    ADD CONSTRAINT snapshot_changes_pkey PRIMARY KEY (unit_code);
ALTER TABLE ONLY public.source_activity
    ADD CONSTRAINT source_activity_pkey PRIMARY KEY (source);
ALTER TABLE ONLY public.unit_activity
    ADD CONSTRAINT unit_activity_pkey PRIMARY KEY (unit_code);
ALTER TABLE ONLY public.unit_aliases
    ADD CONSTRAINT unit_aliases_pkey PRIMARY KEY (alias);
ALTER TABLE ONLY public.unit_closure
    ADD CONSTRAINT unit_closure_pkey PRIMARY KEY (ancestor_code, descendant_code);
ALTER TABLE ONLY public.units
    ADD CONSTRAINT units_pkey PRIMARY KEY (code);
CREATE INDEX alert_history_alert_idx ON public.alert_history USING btree (alert_id, id);
CREATE INDEX alert_history_at_idx ON public.alert_history USING btree (at);
CREATE INDEX alert_state_status_idx ON public.alert_state USING btree (status);
CREATE INDEX dossier_state_closed ON public.dossier_state USING btree (completed_at) WHERE (completed_at IS NOT NULL);
CREATE INDEX dossier_state_running_due ON public.dossier_state USING btree (running_due) WHERE (running_due IS NOT NULL);
CREATE INDEX kpi_counts_daily_unit ON public.kpi_counts_daily USING btree (unit_code, day);
CREATE INDEX notification_outbox_alert_idx ON public.notification_outbox USING btree (alert_id, receiver, id) WHERE (status = 'pending'::text);
CREATE INDEX notification_outbox_due_idx ON public.notification_outbox USING btree (next_attempt_at) WHERE (status = 'pending'::text);
CREATE INDEX notification_outbox_queued_idx ON public.notification_outbox USING btree (receiver, id) WHERE (status = 'queued'::text);
CREATE INDEX procedure_catalogue_procedure_code_idx ON public.procedure_catalogue USING btree (procedure_code);
CREATE INDEX processed_events_processed_at ON public.processed_events USING btree (processed_at);
CREATE INDEX processing_time_daily_day ON public.processing_time_daily USING btree (day);
CREATE INDEX silences_ends_at_idx ON public.silences USING btree (ends_at) WHERE (deleted_at IS NULL);
CREATE INDEX unit_aliases_unit_code_idx ON public.unit_aliases USING btree (unit_code);
CREATE INDEX unit_closure_descendant_code_idx ON public.unit_closure USING btree (descendant_code);
CREATE INDEX units_parent_code_idx ON public.units USING btree (parent_code);
CREATE INDEX units_successor_code_idx ON public.units USING btree (successor_code);
ALTER TABLE ONLY public.unit_aliases
    ADD CONSTRAINT unit_aliases_unit_code_fkey FOREIGN KEY (unit_code) REFERENCES public.units(code) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE ONLY public.units
    ADD CONSTRAINT units_parent_code_fkey FOREIGN KEY (parent_code) REFERENCES public.units(code) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE ONLY public.units
    ADD CONSTRAINT units_successor_code_fkey FOREIGN KEY (successor_code) REFERENCES public.units(code) DEFERRABLE INITIALLY DEFERRED;
