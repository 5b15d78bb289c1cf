-- customers
SELECT
  "t2"."customer_id",
  "t2"."start_date",
  "t2"."end_date",
  "t2"."flag",
  "t2"."mrr",
  "t2"."tenure_given",
  "t2"."plan",
  "t2"."end_seen",
  "t2"."churned",
  "t2"."tenure_t",
  CASE
    WHEN (
      "t2"."start_date" IS NOT NULL
    )
    AND "t2"."churned"
    AND (
      "t2"."end_seen" IS NOT NULL
    )
    THEN CASE
      WHEN (
        (
          (
            (
              (
                (
                  (
                    EXTRACT(year FROM "t2"."end_seen") - EXTRACT(year FROM "t2"."start_date")
                  ) * 12
                ) + EXTRACT(month FROM "t2"."end_seen")
              ) - EXTRACT(month FROM "t2"."start_date")
            ) - IF(
              (
                EXTRACT(day FROM "t2"."end_seen") < EXTRACT(day FROM "t2"."start_date")
              )
              AND NOT (
                EXTRACT(month FROM "t2"."end_seen" + INTERVAL '1' DAY) <> EXTRACT(month FROM "t2"."end_seen")
              ),
              1,
              0
            )
          ) % 3
        ) = 0
      )
      AND (
        (
          EXTRACT(day FROM "t2"."end_seen") = EXTRACT(day FROM "t2"."start_date")
        )
        OR (
          (
            EXTRACT(month FROM "t2"."end_seen" + INTERVAL '1' DAY) <> EXTRACT(month FROM "t2"."end_seen")
          )
          AND (
            EXTRACT(day FROM "t2"."start_date") > EXTRACT(day FROM "t2"."end_seen")
          )
        )
      )
      AND (
        CAST(FLOOR(
          CAST((
            (
              (
                (
                  (
                    EXTRACT(year FROM "t2"."end_seen") - EXTRACT(year FROM "t2"."start_date")
                  ) * 12
                ) + EXTRACT(month FROM "t2"."end_seen")
              ) - EXTRACT(month FROM "t2"."start_date")
            ) - IF(
              (
                EXTRACT(day FROM "t2"."end_seen") < EXTRACT(day FROM "t2"."start_date")
              )
              AND NOT (
                EXTRACT(month FROM "t2"."end_seen" + INTERVAL '1' DAY) <> EXTRACT(month FROM "t2"."end_seen")
              ),
              1,
              0
            )
          ) AS DOUBLE) / (
            3
          )
        ) AS BIGINT) >= 1
      )
      THEN CAST(FLOOR(
        CAST((
          (
            (
              (
                (
                  EXTRACT(year FROM "t2"."end_seen") - EXTRACT(year FROM "t2"."start_date")
                ) * 12
              ) + EXTRACT(month FROM "t2"."end_seen")
            ) - EXTRACT(month FROM "t2"."start_date")
          ) - IF(
            (
              EXTRACT(day FROM "t2"."end_seen") < EXTRACT(day FROM "t2"."start_date")
            )
            AND NOT (
              EXTRACT(month FROM "t2"."end_seen" + INTERVAL '1' DAY) <> EXTRACT(month FROM "t2"."end_seen")
            ),
            1,
            0
          )
        ) AS DOUBLE) / (
          3
        )
      ) AS BIGINT)
      ELSE CAST(FLOOR(
        CAST((
          (
            (
              (
                (
                  EXTRACT(year FROM "t2"."end_seen") - EXTRACT(year FROM "t2"."start_date")
                ) * 12
              ) + EXTRACT(month FROM "t2"."end_seen")
            ) - EXTRACT(month FROM "t2"."start_date")
          ) - IF(
            (
              EXTRACT(day FROM "t2"."end_seen") < EXTRACT(day FROM "t2"."start_date")
            )
            AND NOT (
              EXTRACT(month FROM "t2"."end_seen" + INTERVAL '1' DAY) <> EXTRACT(month FROM "t2"."end_seen")
            ),
            1,
            0
          )
        ) AS DOUBLE) / (
          3
        )
      ) AS BIGINT) + 1
    END
    WHEN (
      "t2"."start_date" IS NOT NULL
    ) AND NOT (
      "t2"."churned"
    )
    THEN CAST(FLOOR(
      CAST((
        (
          (
            (
              (
                EXTRACT(year FROM FROM_ISO8601_DATE('2026-06-30')) - EXTRACT(year FROM "t2"."start_date")
              ) * 12
            ) + EXTRACT(month FROM FROM_ISO8601_DATE('2026-06-30'))
          ) - EXTRACT(month FROM "t2"."start_date")
        ) - IF(
          (
            EXTRACT(day FROM FROM_ISO8601_DATE('2026-06-30')) < EXTRACT(day FROM "t2"."start_date")
          )
          AND NOT (
            EXTRACT(month FROM FROM_ISO8601_DATE('2026-06-30') + INTERVAL '1' DAY) <> EXTRACT(month FROM FROM_ISO8601_DATE('2026-06-30'))
          ),
          1,
          0
        )
      ) AS DOUBLE) / (
        3
      )
    ) AS BIGINT)
    WHEN "t2"."churned"
    THEN GREATEST(
      CAST(CEIL(
        (
          "t2"."tenure_t" * CAST(0.3333333333333333 AS DOUBLE)
        ) - CAST(1e-09 AS DOUBLE)
      ) AS BIGINT),
      1
    )
    ELSE CAST(FLOOR(
      (
        "t2"."tenure_t" * CAST(0.3333333333333333 AS DOUBLE)
      ) + CAST(1e-09 AS DOUBLE)
    ) AS BIGINT)
  END AS "sbg_t"
FROM (
  SELECT
    "t1"."customer_id",
    "t1"."start_date",
    "t1"."end_date",
    "t1"."flag",
    "t1"."mrr",
    "t1"."tenure_given",
    "t1"."plan",
    "t1"."end_seen",
    "t1"."churned",
    CASE
      WHEN "t1"."start_date" IS NULL
      THEN "t1"."tenure_given"
      WHEN "t1"."churned" AND (
        "t1"."end_seen" IS NOT NULL
      )
      THEN CAST(DATE_DIFF('DAY', DATE_TRUNC('DAY', "t1"."start_date"), DATE_TRUNC('DAY', "t1"."end_seen")) AS DOUBLE) / CAST(30.4375 AS DOUBLE)
      WHEN "t1"."churned"
      THEN "t1"."tenure_given"
      WHEN NOT (
        "t1"."churned"
      )
      THEN CAST(DATE_DIFF(
        'DAY',
        DATE_TRUNC('DAY', "t1"."start_date"),
        DATE_TRUNC('DAY', FROM_ISO8601_DATE('2026-06-30'))
      ) AS DOUBLE) / CAST(30.4375 AS DOUBLE)
      ELSE "t1"."tenure_given"
    END AS "tenure_t"
  FROM (
    SELECT
      "t0"."customer_id",
      "t0"."signup_date" AS "start_date",
      DATE("t0"."cancel_date") AS "end_date",
      CAST(NULL AS BOOLEAN) AS "flag",
      "t0"."mrr",
      CAST(NULL AS DOUBLE) AS "tenure_given",
      "t0"."plan",
      IF(
        DATE("t0"."cancel_date") <= FROM_ISO8601_DATE('2026-06-30'),
        DATE("t0"."cancel_date"),
        CAST(NULL AS DATE)
      ) AS "end_seen",
      IF(
        DATE("t0"."cancel_date") <= FROM_ISO8601_DATE('2026-06-30'),
        DATE("t0"."cancel_date"),
        CAST(NULL AS DATE)
      ) IS NOT NULL AS "churned"
    FROM "analytics"."subscriptions" AS "t0"
    WHERE
      (
        "t0"."signup_date" IS NULL
      )
      OR (
        "t0"."signup_date" <= FROM_ISO8601_DATE('2026-06-30')
      )
  ) AS "t1"
) AS "t2";

-- counts
SELECT
  COUNT(*) AS "customers",
  SUM(CAST("t0"."churned" AS INTEGER)) AS "churned"
FROM "customers" AS "t0";

-- cohorts
SELECT
  "t1"."s",
  "t1"."e",
  COUNT(*) AS "n"
FROM (
  SELECT
    "t0"."customer_id",
    "t0"."start_date",
    "t0"."end_date",
    "t0"."flag",
    "t0"."mrr",
    "t0"."tenure_given",
    "t0"."plan",
    "t0"."end_seen",
    "t0"."churned",
    "t0"."tenure_t",
    "t0"."sbg_t",
    DATE_TRUNC('QUARTER', "t0"."start_date") AS "s",
    IF("t0"."churned", DATE_TRUNC('QUARTER', "t0"."end_seen"), CAST(NULL AS DATE)) AS "e"
  FROM "customers" AS "t0"
  WHERE
    "t0"."start_date" IS NOT NULL
) AS "t1"
GROUP BY
  1,
  2;

-- segments
SELECT
  "t1"."v",
  COUNT(*) AS "n",
  SUM(CAST("t1"."churned" AS INTEGER)) AS "d"
FROM (
  SELECT
    "t0"."customer_id",
    "t0"."start_date",
    "t0"."end_date",
    "t0"."flag",
    "t0"."mrr",
    "t0"."tenure_given",
    "t0"."plan",
    "t0"."end_seen",
    "t0"."churned",
    "t0"."tenure_t",
    "t0"."sbg_t",
    COALESCE("t0"."plan", '(missing)') AS "v"
  FROM "customers" AS "t0"
) AS "t1"
GROUP BY
  1;

-- segments_by_quartile
SELECT
  "t1"."v",
  COUNT(*) AS "n",
  SUM(CAST("t1"."churned" AS INTEGER)) AS "d"
FROM (
  SELECT
    "t0"."customer_id",
    "t0"."start_date",
    "t0"."end_date",
    "t0"."flag",
    "t0"."mrr",
    "t0"."tenure_given",
    "t0"."plan",
    "t0"."end_seen",
    "t0"."churned",
    "t0"."tenure_t",
    "t0"."sbg_t",
    CASE
      WHEN NOT (
        (
          "t0"."mrr" IS NOT NULL
        )
        AND NOT (
          IS_NAN("t0"."mrr")
        )
        AND NOT (
          IS_INFINITE("t0"."mrr")
        )
      )
      THEN '(missing)'
      WHEN "t0"."mrr" <= CAST(10.0 AS DOUBLE)
      THEN 'Q1 (<= 10)'
      WHEN "t0"."mrr" <= CAST(25.5 AS DOUBLE)
      THEN 'Q2 (10-25.5]'
      WHEN "t0"."mrr" <= CAST(99.0 AS DOUBLE)
      THEN 'Q3 (25.5-99]'
      ELSE 'Q4 (> 99)'
    END AS "v"
  FROM "customers" AS "t0"
) AS "t1"
GROUP BY
  1;

-- kaplan_meier
SELECT
  *
FROM (
  SELECT
    "t1"."t",
    SUM(CAST("t1"."churned" AS INTEGER)) AS "d",
    COUNT(*) AS "n"
  FROM (
    SELECT
      "t0"."customer_id",
      "t0"."start_date",
      "t0"."end_date",
      "t0"."flag",
      "t0"."mrr",
      "t0"."tenure_given",
      "t0"."plan",
      "t0"."end_seen",
      "t0"."churned",
      "t0"."tenure_t",
      "t0"."sbg_t",
      CAST(ROUND("t0"."tenure_t", 2) AS DOUBLE) AS "t"
    FROM "customers" AS "t0"
    WHERE
      "t0"."tenure_t" IS NOT NULL
  ) AS "t1"
  GROUP BY
    1
) AS "t2"
ORDER BY
  "t2"."t" ASC;

-- kaplan_meier_by_group
SELECT
  *
FROM (
  SELECT
    "t1"."g",
    "t1"."t",
    SUM(CAST("t1"."churned" AS INTEGER)) AS "d",
    COUNT(*) AS "n"
  FROM (
    SELECT
      "t0"."customer_id",
      "t0"."start_date",
      "t0"."end_date",
      "t0"."flag",
      "t0"."mrr",
      "t0"."tenure_given",
      "t0"."plan",
      "t0"."end_seen",
      "t0"."churned",
      "t0"."tenure_t",
      "t0"."sbg_t",
      CAST(ROUND("t0"."tenure_t", 2) AS DOUBLE) AS "t",
      "t0"."plan" AS "g"
    FROM "customers" AS "t0"
    WHERE
      "t0"."tenure_t" IS NOT NULL
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
ORDER BY
  "t2"."g" ASC,
  "t2"."t" ASC;

-- sbg
SELECT
  *
FROM (
  SELECT
    "t1"."sbg_t" AS "p",
    SUM(CAST("t1"."churned" AS INTEGER)) AS "lost",
    SUM(CAST(NOT (
      "t1"."churned"
    ) AS INTEGER)) AS "active"
  FROM (
    SELECT
      *
    FROM "customers" AS "t0"
    WHERE
      "t0"."sbg_t" IS NOT NULL
  ) AS "t1"
  GROUP BY
    1
) AS "t2"
ORDER BY
  "t2"."p" ASC;

-- mrr_window
SELECT
  SUM("t0"."mrr") FILTER(WHERE
    (
      "t0"."start_date" < FROM_ISO8601_DATE('2026-01-01')
    )
    AND NOT (
      "t0"."churned" AND (
        "t0"."end_seen" < FROM_ISO8601_DATE('2026-01-01')
      )
    )) AS "starting",
  SUM("t0"."mrr") FILTER(WHERE
    (
      "t0"."start_date" < FROM_ISO8601_DATE('2026-01-01')
    )
    AND "t0"."churned"
    AND (
      "t0"."end_seen" >= FROM_ISO8601_DATE('2026-01-01')
    )
    AND (
      "t0"."end_seen" < FROM_ISO8601_DATE('2026-04-01')
    )) AS "churned",
  SUM("t0"."mrr") FILTER(WHERE
    (
      "t0"."start_date" >= FROM_ISO8601_DATE('2026-01-01')
    )
    AND (
      "t0"."start_date" < FROM_ISO8601_DATE('2026-04-01')
    )) AS "new"
FROM "customers" AS "t0";

-- orders
SELECT
  CAST("t0"."customer_id" AS VARCHAR) AS "customer_id",
  DATE("t0"."order_date") AS "day"
FROM "analytics"."orders" AS "t0"
WHERE
  DATE("t0"."order_date") IS NOT NULL;

-- rfm
SELECT
  "t1"."customer_id",
  COUNT(DISTINCT "t1"."day") - 1 AS "x",
  DATE_DIFF('DAY', DATE_TRUNC('DAY', MIN("t1"."day")), DATE_TRUNC('DAY', MAX("t1"."day"))) AS "tx_days",
  DATE_DIFF(
    'DAY',
    DATE_TRUNC('DAY', MIN("t1"."day")),
    DATE_TRUNC('DAY', FROM_ISO8601_DATE('2026-06-30'))
  ) AS "T_days",
  DATE_DIFF(
    'DAY',
    DATE_TRUNC('DAY', MAX("t1"."day")),
    DATE_TRUNC('DAY', FROM_ISO8601_DATE('2026-06-30'))
  ) AS "recency_days"
FROM (
  SELECT
    *
  FROM "order_days" AS "t0"
  WHERE
    "t0"."day" <= FROM_ISO8601_DATE('2026-06-30')
) AS "t1"
GROUP BY
  1;

-- bgnbd_pooled
SELECT
  *
FROM (
  SELECT
    "t0"."x",
    "t0"."tx_days",
    "t0"."T_days",
    COUNT(*) AS "n"
  FROM "rfm" AS "t0"
  GROUP BY
    1,
    2,
    3
) AS "t1"
ORDER BY
  "t1"."x" ASC,
  "t1"."tx_days" ASC,
  "t1"."T_days" ASC;

-- calibration
SELECT
  *
FROM (
  SELECT
    "t1"."customer_id",
    COUNT(DISTINCT "t1"."day") FILTER(WHERE
      "t1"."day" <= FROM_ISO8601_DATE('2026-03-31')) - 1 AS "x",
    DATE_DIFF(
      'DAY',
      DATE_TRUNC('DAY', MIN("t1"."day")),
      DATE_TRUNC(
        'DAY',
        MAX("t1"."day") FILTER(WHERE
          "t1"."day" <= FROM_ISO8601_DATE('2026-03-31'))
      )
    ) AS "tx_days",
    DATE_DIFF(
      'DAY',
      DATE_TRUNC('DAY', MIN("t1"."day")),
      DATE_TRUNC('DAY', FROM_ISO8601_DATE('2026-03-31'))
    ) AS "T_days",
    COUNT(DISTINCT "t1"."day") FILTER(WHERE
      NOT (
        "t1"."day" <= FROM_ISO8601_DATE('2026-03-31')
      )) AS "holdout",
    MIN("t1"."day") AS "first"
  FROM (
    SELECT
      *
    FROM "order_days" AS "t0"
    WHERE
      "t0"."day" <= FROM_ISO8601_DATE('2026-06-30')
  ) AS "t1"
  GROUP BY
    1
) AS "t2"
WHERE
  "t2"."first" <= FROM_ISO8601_DATE('2026-03-31');

-- bgnbd_holdout
SELECT
  *
FROM (
  SELECT
    "t0"."x",
    "t0"."tx_days",
    "t0"."T_days",
    "t0"."holdout",
    COUNT(*) AS "n"
  FROM "calibration" AS "t0"
  GROUP BY
    1,
    2,
    3,
    4
) AS "t1"
ORDER BY
  "t1"."x" ASC,
  "t1"."tx_days" ASC,
  "t1"."T_days" ASC,
  "t1"."holdout" ASC;

-- rfm_scores
SELECT
  SUM(CAST((
    "t1"."r" = 5
  ) AND (
    "t1"."f" >= 4
  ) AS INTEGER)) AS "champions",
  SUM(CAST((
    "t1"."r" <= 2
  ) AND (
    "t1"."f" >= 4
  ) AS INTEGER)) AS "at_risk",
  SUM(CAST((
    "t1"."r" <= 2
  ) AND (
    "t1"."f" <= 2
  ) AS INTEGER)) AS "hibernating"
FROM (
  SELECT
    CAST(FLOOR(
      CAST((
        (
          RANK() OVER (ORDER BY "t0"."recency_days" DESC) - 1
        ) * 5
      ) AS DOUBLE) / (
        1000
      )
    ) AS BIGINT) + 1 AS "r",
    CAST(FLOOR(
      CAST((
        (
          RANK() OVER (ORDER BY "t0"."x" ASC) - 1
        ) * 5
      ) AS DOUBLE) / (
        1000
      )
    ) AS BIGINT) + 1 AS "f"
  FROM "rfm" AS "t0"
) AS "t1";

-- panel
SELECT
  "t1"."customer_id",
  "t1"."month",
  SUM("t1"."mrr") AS "mrr"
FROM (
  SELECT
    CAST("t0"."customer_id" AS VARCHAR) AS "customer_id",
    DATE_TRUNC('MONTH', "t0"."month") AS "month",
    "t0"."mrr"
  FROM "analytics"."revenue" AS "t0"
) AS "t1"
GROUP BY
  1,
  2;

-- panel_customers
SELECT
  "t8"."customer_id",
  "t8"."start_date",
  "t8"."end_date",
  "t8"."mrr",
  "t6"."plan"
FROM (
  SELECT
    "t4"."customer_id",
    "t4"."start_date",
    IF(
      "t4"."last_month" < FROM_ISO8601_DATE('2026-06-01'),
      "t4"."last_month" + INTERVAL '1' MONTH,
      NULL
    ) AS "end_date",
    "t4"."mrr"
  FROM (
    SELECT
      "t2"."customer_id",
      MIN("t2"."month") AS "start_date",
      MAX("t2"."month") AS "last_month",
      MAX_BY("t2"."mrr", "t2"."month") AS "mrr"
    FROM (
      SELECT
        *
      FROM "panel" AS "t0"
      WHERE
        "t0"."mrr" > 0
    ) AS "t2"
    GROUP BY
      1
  ) AS "t4"
) AS "t8"
INNER JOIN (
  SELECT
    "t3"."customer_id_",
    MIN("t3"."plan") AS "plan"
  FROM (
    SELECT
      "t1"."customer_id",
      "t1"."month",
      "t1"."mrr",
      "t1"."plan",
      CAST("t1"."customer_id" AS VARCHAR) AS "customer_id_"
    FROM "analytics"."revenue" AS "t1"
  ) AS "t3"
  GROUP BY
    1
) AS "t6"
  ON "t8"."customer_id" = "t6"."customer_id_";

-- mrr_movements
WITH "t3" AS (
  SELECT
    "t2"."customer_id",
    "t2"."month",
    "t2"."mrr",
    MIN("t2"."month") OVER (
      PARTITION BY "t2"."customer_id"
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "first_month"
  FROM (
    SELECT
      *
    FROM "panel" AS "t0"
    WHERE
      "t0"."mrr" > 0
  ) AS "t2"
)
SELECT
  *
FROM (
  SELECT
    "t9"."month",
    SUM("t9"."mrr") AS "total",
    SUM("t9"."mrr") FILTER(WHERE
      (
        "t9"."prev_mrr" = 0
      ) AND (
        "t9"."month" = "t9"."first_month"
      )) AS "new",
    SUM("t9"."mrr" - "t9"."prev_mrr") FILTER(WHERE
      (
        "t9"."prev_mrr" > 0
      ) AND (
        "t9"."mrr" > "t9"."prev_mrr"
      )) AS "expansion",
    SUM("t9"."prev_mrr" - "t9"."mrr") FILTER(WHERE
      (
        "t9"."prev_mrr" > 0
      )
      AND (
        "t9"."mrr" > 0
      )
      AND (
        "t9"."mrr" < "t9"."prev_mrr"
      )) AS "contraction",
    SUM("t9"."prev_mrr") FILTER(WHERE
      (
        "t9"."prev_mrr" > 0
      ) AND (
        "t9"."mrr" = 0
      )) AS "churned",
    SUM("t9"."mrr") FILTER(WHERE
      (
        "t9"."prev_mrr" = 0
      ) AND (
        "t9"."month" > "t9"."first_month"
      )) AS "reactivation"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        COALESCE("t5"."month", "t7"."month") AS "month",
        COALESCE("t5"."first_month", "t7"."first_month") AS "first_month",
        COALESCE("t5"."mrr", 0) AS "mrr",
        COALESCE("t7"."prev_mrr", 0) AS "prev_mrr"
      FROM "t3" AS "t5"
      FULL OUTER JOIN (
        SELECT
          "t4"."customer_id",
          "t4"."first_month",
          "t4"."month" + INTERVAL '1' MONTH AS "month",
          "t4"."mrr" AS "prev_mrr"
        FROM "t3" AS "t4"
      ) AS "t7"
        ON "t5"."customer_id" = "t7"."customer_id" AND "t5"."month" = "t7"."month"
    ) AS "t8"
    WHERE
      "t8"."month" <= (
        SELECT
          MAX("t0"."month") AS "Max(month)"
        FROM "panel" AS "t0"
      )
  ) AS "t9"
  GROUP BY
    1
) AS "t10"
ORDER BY
  "t10"."month" ASC;

-- mrr_retention_window
SELECT
  SUM("t5"."s_mrr") AS "starting",
  SUM(LEAST("t5"."s_mrr", COALESCE("t5"."e_mrr", 0))) AS "kept",
  SUM(COALESCE("t5"."e_mrr", 0)) AS "ending",
  COALESCE(SUM("t5"."s_mrr") FILTER(WHERE
    COALESCE("t5"."e_mrr", 0) <= 0), 0) AS "lost"
FROM (
  SELECT
    "t3"."customer_id",
    "t3"."s_mrr",
    "t4"."e_id",
    "t4"."e_mrr"
  FROM (
    SELECT
      "t0"."customer_id",
      "t0"."mrr" AS "s_mrr"
    FROM "panel" AS "t0"
    WHERE
      "t0"."month" = FROM_ISO8601_DATE('2025-06-01') AND "t0"."mrr" > 0
  ) AS "t3"
  LEFT OUTER JOIN (
    SELECT
      "t0"."customer_id" AS "e_id",
      "t0"."mrr" AS "e_mrr"
    FROM "panel" AS "t0"
    WHERE
      "t0"."month" = FROM_ISO8601_DATE('2026-06-01')
  ) AS "t4"
    ON "t3"."customer_id" = "t4"."e_id"
) AS "t5";
