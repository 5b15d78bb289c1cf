-- customers
SELECT
  "t2"."customer_id" AS "customer_id",
  "t2"."start_date" AS "start_date",
  "t2"."end_date" AS "end_date",
  "t2"."flag" AS "flag",
  "t2"."mrr" AS "mrr",
  "t2"."tenure_given" AS "tenure_given",
  "t2"."plan" AS "plan",
  "t2"."end_seen" AS "end_seen",
  "t2"."churned" AS "churned",
  "t2"."tenure_t" AS "tenure_t",
  CASE
    WHEN isNotNull("t2"."start_date") AND "t2"."churned" AND isNotNull("t2"."end_seen")
    THEN CASE
      WHEN (
        (
          (
            (
              (
                (
                  (
                    toYear("t2"."end_seen") - toYear("t2"."start_date")
                  ) * 12
                ) + toMonth("t2"."end_seen")
              ) - toMonth("t2"."start_date")
            ) - CASE
              WHEN (
                toDayOfMonth("t2"."end_seen") < toDayOfMonth("t2"."start_date")
              )
              AND NOT (
                toMonth("t2"."end_seen" + INTERVAL '1' DAY) <> toMonth("t2"."end_seen")
              )
              THEN 1
              ELSE 0
            END
          ) % 3
        ) = 0
      )
      AND (
        (
          toDayOfMonth("t2"."end_seen") = toDayOfMonth("t2"."start_date")
        )
        OR (
          (
            toMonth("t2"."end_seen" + INTERVAL '1' DAY) <> toMonth("t2"."end_seen")
          )
          AND (
            toDayOfMonth("t2"."start_date") > toDayOfMonth("t2"."end_seen")
          )
        )
      )
      AND (
        CAST(FLOOR(
          (
            (
              (
                (
                  (
                    toYear("t2"."end_seen") - toYear("t2"."start_date")
                  ) * 12
                ) + toMonth("t2"."end_seen")
              ) - toMonth("t2"."start_date")
            ) - CASE
              WHEN (
                toDayOfMonth("t2"."end_seen") < toDayOfMonth("t2"."start_date")
              )
              AND NOT (
                toMonth("t2"."end_seen" + INTERVAL '1' DAY) <> toMonth("t2"."end_seen")
              )
              THEN 1
              ELSE 0
            END
          ) / (
            3
          )
        ) AS Nullable(Int64)) >= 1
      )
      THEN CAST(FLOOR(
        (
          (
            (
              (
                (
                  toYear("t2"."end_seen") - toYear("t2"."start_date")
                ) * 12
              ) + toMonth("t2"."end_seen")
            ) - toMonth("t2"."start_date")
          ) - CASE
            WHEN (
              toDayOfMonth("t2"."end_seen") < toDayOfMonth("t2"."start_date")
            )
            AND NOT (
              toMonth("t2"."end_seen" + INTERVAL '1' DAY) <> toMonth("t2"."end_seen")
            )
            THEN 1
            ELSE 0
          END
        ) / (
          3
        )
      ) AS Nullable(Int64))
      ELSE CAST(FLOOR(
        (
          (
            (
              (
                (
                  toYear("t2"."end_seen") - toYear("t2"."start_date")
                ) * 12
              ) + toMonth("t2"."end_seen")
            ) - toMonth("t2"."start_date")
          ) - CASE
            WHEN (
              toDayOfMonth("t2"."end_seen") < toDayOfMonth("t2"."start_date")
            )
            AND NOT (
              toMonth("t2"."end_seen" + INTERVAL '1' DAY) <> toMonth("t2"."end_seen")
            )
            THEN 1
            ELSE 0
          END
        ) / (
          3
        )
      ) AS Nullable(Int64)) + 1
    END
    WHEN isNotNull("t2"."start_date") AND NOT (
      "t2"."churned"
    )
    THEN CAST(FLOOR(
      (
        (
          (
            (
              (
                toYear(toDate('2026-06-30')) - toYear("t2"."start_date")
              ) * 12
            ) + toMonth(toDate('2026-06-30'))
          ) - toMonth("t2"."start_date")
        ) - CASE
          WHEN (
            toDayOfMonth(toDate('2026-06-30')) < toDayOfMonth("t2"."start_date")
          )
          AND NOT (
            toMonth(toDate('2026-06-30') + INTERVAL '1' DAY) <> toMonth(toDate('2026-06-30'))
          )
          THEN 1
          ELSE 0
        END
      ) / (
        3
      )
    ) AS Nullable(Int64))
    WHEN "t2"."churned"
    THEN GREATEST(
      CAST(CEIL((
        "t2"."tenure_t" * 0.3333333333333333
      ) - 1e-09) AS Nullable(Int64)),
      1
    )
    ELSE CAST(FLOOR((
      "t2"."tenure_t" * 0.3333333333333333
    ) + 1e-09) AS Nullable(Int64))
  END AS "sbg_t"
FROM (
  SELECT
    "t1"."customer_id" AS "customer_id",
    "t1"."start_date" AS "start_date",
    "t1"."end_date" AS "end_date",
    "t1"."flag" AS "flag",
    "t1"."mrr" AS "mrr",
    "t1"."tenure_given" AS "tenure_given",
    "t1"."plan" AS "plan",
    "t1"."end_seen" AS "end_seen",
    "t1"."churned" AS "churned",
    CASE
      WHEN isNull("t1"."start_date")
      THEN "t1"."tenure_given"
      WHEN "t1"."churned" AND isNotNull("t1"."end_seen")
      THEN CAST(DATE_DIFF(DAY, "t1"."start_date", "t1"."end_seen") AS Nullable(Float64)) / 30.4375
      WHEN "t1"."churned"
      THEN "t1"."tenure_given"
      WHEN NOT (
        "t1"."churned"
      )
      THEN CAST(DATE_DIFF(DAY, "t1"."start_date", toDate('2026-06-30')) AS Nullable(Float64)) / 30.4375
      ELSE "t1"."tenure_given"
    END AS "tenure_t"
  FROM (
    SELECT
      "t0"."customer_id" AS "customer_id",
      "t0"."signup_date" AS "start_date",
      toDate("t0"."cancel_date") AS "end_date",
      CAST(NULL AS Nullable(Bool)) AS "flag",
      "t0"."mrr" AS "mrr",
      CAST(NULL AS Nullable(Float64)) AS "tenure_given",
      "t0"."plan" AS "plan",
      CASE
        WHEN toDate("t0"."cancel_date") <= toDate('2026-06-30')
        THEN toDate("t0"."cancel_date")
        ELSE CAST(NULL AS Nullable(DATE))
      END AS "end_seen",
      isNotNull(
        CASE
          WHEN toDate("t0"."cancel_date") <= toDate('2026-06-30')
          THEN toDate("t0"."cancel_date")
          ELSE CAST(NULL AS Nullable(DATE))
        END
      ) AS "churned"
    FROM "analytics"."subscriptions" AS "t0"
    WHERE
      isNull("t0"."signup_date") OR (
        "t0"."signup_date" <= toDate('2026-06-30')
      )
  ) AS "t1"
) AS "t2";

-- counts
SELECT
  COUNT(*) AS "customers",
  SUM(CAST("t0"."churned" AS Nullable(Int32))) AS "churned"
FROM "customers" AS "t0";

-- cohorts
SELECT
  "t1"."s" AS "s",
  "t1"."e" AS "e",
  COUNT(*) AS "n"
FROM (
  SELECT
    "t0"."customer_id" AS "customer_id",
    "t0"."start_date" AS "start_date",
    "t0"."end_date" AS "end_date",
    "t0"."flag" AS "flag",
    "t0"."mrr" AS "mrr",
    "t0"."tenure_given" AS "tenure_given",
    "t0"."plan" AS "plan",
    "t0"."end_seen" AS "end_seen",
    "t0"."churned" AS "churned",
    "t0"."tenure_t" AS "tenure_t",
    "t0"."sbg_t" AS "sbg_t",
    dateTrunc('QUARTER', "t0"."start_date") AS "s",
    CASE
      WHEN "t0"."churned"
      THEN dateTrunc('QUARTER', "t0"."end_seen")
      ELSE CAST(NULL AS Nullable(DATE))
    END AS "e"
  FROM "customers" AS "t0"
  WHERE
    isNotNull("t0"."start_date")
) AS "t1"
GROUP BY
  "t1"."s",
  "t1"."e";

-- segments
SELECT
  "t1"."v" AS "v",
  COUNT(*) AS "n",
  SUM(CAST("t1"."churned" AS Nullable(Int32))) AS "d"
FROM (
  SELECT
    "t0"."customer_id" AS "customer_id",
    "t0"."start_date" AS "start_date",
    "t0"."end_date" AS "end_date",
    "t0"."flag" AS "flag",
    "t0"."mrr" AS "mrr",
    "t0"."tenure_given" AS "tenure_given",
    "t0"."plan" AS "plan",
    "t0"."end_seen" AS "end_seen",
    "t0"."churned" AS "churned",
    "t0"."tenure_t" AS "tenure_t",
    "t0"."sbg_t" AS "sbg_t",
    COALESCE("t0"."plan", '(missing)') AS "v"
  FROM "customers" AS "t0"
) AS "t1"
GROUP BY
  "t1"."v";

-- segments_by_quartile
SELECT
  "t1"."v" AS "v",
  COUNT(*) AS "n",
  SUM(CAST("t1"."churned" AS Nullable(Int32))) AS "d"
FROM (
  SELECT
    "t0"."customer_id" AS "customer_id",
    "t0"."start_date" AS "start_date",
    "t0"."end_date" AS "end_date",
    "t0"."flag" AS "flag",
    "t0"."mrr" AS "mrr",
    "t0"."tenure_given" AS "tenure_given",
    "t0"."plan" AS "plan",
    "t0"."end_seen" AS "end_seen",
    "t0"."churned" AS "churned",
    "t0"."tenure_t" AS "tenure_t",
    "t0"."sbg_t" AS "sbg_t",
    CASE
      WHEN NOT (
        isNotNull("t0"."mrr")
        AND NOT (
          isNaN("t0"."mrr")
        )
        AND NOT (
          isInfinite("t0"."mrr")
        )
      )
      THEN '(missing)'
      WHEN "t0"."mrr" <= 10.0
      THEN 'Q1 (<= 10)'
      WHEN "t0"."mrr" <= 25.5
      THEN 'Q2 (10-25.5]'
      WHEN "t0"."mrr" <= 99.0
      THEN 'Q3 (25.5-99]'
      ELSE 'Q4 (> 99)'
    END AS "v"
  FROM "customers" AS "t0"
) AS "t1"
GROUP BY
  "t1"."v";

-- kaplan_meier
SELECT
  *
FROM (
  SELECT
    "t1"."t" AS "t",
    SUM(CAST("t1"."churned" AS Nullable(Int32))) AS "d",
    COUNT(*) AS "n"
  FROM (
    SELECT
      "t0"."customer_id" AS "customer_id",
      "t0"."start_date" AS "start_date",
      "t0"."end_date" AS "end_date",
      "t0"."flag" AS "flag",
      "t0"."mrr" AS "mrr",
      "t0"."tenure_given" AS "tenure_given",
      "t0"."plan" AS "plan",
      "t0"."end_seen" AS "end_seen",
      "t0"."churned" AS "churned",
      "t0"."tenure_t" AS "tenure_t",
      "t0"."sbg_t" AS "sbg_t",
      CAST(ROUND("t0"."tenure_t", 2) AS Nullable(Float64)) AS "t"
    FROM "customers" AS "t0"
    WHERE
      isNotNull("t0"."tenure_t")
  ) AS "t1"
  GROUP BY
    "t1"."t"
) AS "t2"
ORDER BY
  "t2"."t" ASC;

-- kaplan_meier_by_group
SELECT
  *
FROM (
  SELECT
    "t1"."g" AS "g",
    "t1"."t" AS "t",
    SUM(CAST("t1"."churned" AS Nullable(Int32))) AS "d",
    COUNT(*) AS "n"
  FROM (
    SELECT
      "t0"."customer_id" AS "customer_id",
      "t0"."start_date" AS "start_date",
      "t0"."end_date" AS "end_date",
      "t0"."flag" AS "flag",
      "t0"."mrr" AS "mrr",
      "t0"."tenure_given" AS "tenure_given",
      "t0"."plan" AS "plan",
      "t0"."end_seen" AS "end_seen",
      "t0"."churned" AS "churned",
      "t0"."tenure_t" AS "tenure_t",
      "t0"."sbg_t" AS "sbg_t",
      CAST(ROUND("t0"."tenure_t", 2) AS Nullable(Float64)) AS "t",
      "t0"."plan" AS "g"
    FROM "customers" AS "t0"
    WHERE
      isNotNull("t0"."tenure_t")
  ) AS "t1"
  GROUP BY
    "t1"."g",
    "t1"."t"
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
    SUM(CAST("t1"."churned" AS Nullable(Int32))) AS "lost",
    SUM(CAST(NOT (
      "t1"."churned"
    ) AS Nullable(Int32))) AS "active"
  FROM (
    SELECT
      *
    FROM "customers" AS "t0"
    WHERE
      isNotNull("t0"."sbg_t")
  ) AS "t1"
  GROUP BY
    "t1"."sbg_t"
) AS "t2"
ORDER BY
  "t2"."p" ASC;

-- mrr_window
SELECT
  sumIf(
    "t0"."mrr",
    (
      "t0"."start_date" < toDate('2026-01-01')
    )
    AND NOT (
      "t0"."churned" AND (
        "t0"."end_seen" < toDate('2026-01-01')
      )
    )
  ) AS "starting",
  sumIf(
    "t0"."mrr",
    (
      "t0"."start_date" < toDate('2026-01-01')
    )
    AND "t0"."churned"
    AND (
      "t0"."end_seen" >= toDate('2026-01-01')
    )
    AND (
      "t0"."end_seen" < toDate('2026-04-01')
    )
  ) AS "churned",
  sumIf(
    "t0"."mrr",
    (
      "t0"."start_date" >= toDate('2026-01-01')
    )
    AND (
      "t0"."start_date" < toDate('2026-04-01')
    )
  ) AS "new"
FROM "customers" AS "t0";

-- orders
SELECT
  CAST("t0"."customer_id" AS Nullable(String)) AS "customer_id",
  toDate("t0"."order_date") AS "day"
FROM "analytics"."orders" AS "t0"
WHERE
  isNotNull(toDate("t0"."order_date"));

-- rfm
SELECT
  "t1"."customer_id" AS "customer_id",
  uniq("t1"."day") - 1 AS "x",
  DATE_DIFF(DAY, MIN("t1"."day"), MAX("t1"."day")) AS "tx_days",
  DATE_DIFF(DAY, MIN("t1"."day"), toDate('2026-06-30')) AS "T_days",
  DATE_DIFF(DAY, MAX("t1"."day"), toDate('2026-06-30')) AS "recency_days"
FROM (
  SELECT
    *
  FROM "order_days" AS "t0"
  WHERE
    "t0"."day" <= toDate('2026-06-30')
) AS "t1"
GROUP BY
  "t1"."customer_id";

-- bgnbd_pooled
SELECT
  *
FROM (
  SELECT
    "t0"."x" AS "x",
    "t0"."tx_days" AS "tx_days",
    "t0"."T_days" AS "T_days",
    COUNT(*) AS "n"
  FROM "rfm" AS "t0"
  GROUP BY
    "t0"."x",
    "t0"."tx_days",
    "t0"."T_days"
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
    "t1"."customer_id" AS "customer_id",
    uniqIf("t1"."day", "t1"."day" <= toDate('2026-03-31')) - 1 AS "x",
    DATE_DIFF(DAY, MIN("t1"."day"), maxIf("t1"."day", "t1"."day" <= toDate('2026-03-31'))) AS "tx_days",
    DATE_DIFF(DAY, MIN("t1"."day"), toDate('2026-03-31')) AS "T_days",
    uniqIf("t1"."day", NOT (
      "t1"."day" <= toDate('2026-03-31')
    )) AS "holdout",
    MIN("t1"."day") AS "first"
  FROM (
    SELECT
      *
    FROM "order_days" AS "t0"
    WHERE
      "t0"."day" <= toDate('2026-06-30')
  ) AS "t1"
  GROUP BY
    "t1"."customer_id"
) AS "t2"
WHERE
  "t2"."first" <= toDate('2026-03-31');

-- bgnbd_holdout
SELECT
  *
FROM (
  SELECT
    "t0"."x" AS "x",
    "t0"."tx_days" AS "tx_days",
    "t0"."T_days" AS "T_days",
    "t0"."holdout" AS "holdout",
    COUNT(*) AS "n"
  FROM "calibration" AS "t0"
  GROUP BY
    "t0"."x",
    "t0"."tx_days",
    "t0"."T_days",
    "t0"."holdout"
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
  ) AS Nullable(Int32))) AS "champions",
  SUM(CAST((
    "t1"."r" <= 2
  ) AND (
    "t1"."f" >= 4
  ) AS Nullable(Int32))) AS "at_risk",
  SUM(CAST((
    "t1"."r" <= 2
  ) AND (
    "t1"."f" <= 2
  ) AS Nullable(Int32))) AS "hibernating"
FROM (
  SELECT
    CAST(FLOOR(
      (
        (
          RANK() OVER (
            ORDER BY "t0"."recency_days" DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) * 5
      ) / (
        1000
      )
    ) AS Nullable(Int64)) + 1 AS "r",
    CAST(FLOOR(
      (
        (
          RANK() OVER (ORDER BY "t0"."x" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1
        ) * 5
      ) / (
        1000
      )
    ) AS Nullable(Int64)) + 1 AS "f"
  FROM "rfm" AS "t0"
) AS "t1";

-- panel
SELECT
  "t1"."customer_id" AS "customer_id",
  "t1"."month" AS "month",
  SUM("t1"."mrr") AS "mrr"
FROM (
  SELECT
    CAST("t0"."customer_id" AS Nullable(String)) AS "customer_id",
    dateTrunc('MONTH', "t0"."month") AS "month",
    "t0"."mrr" AS "mrr"
  FROM "analytics"."revenue" AS "t0"
) AS "t1"
GROUP BY
  "t1"."customer_id",
  "t1"."month";

-- panel_customers
SELECT
  "t8"."customer_id" AS "customer_id",
  "t8"."start_date" AS "start_date",
  "t8"."end_date" AS "end_date",
  "t8"."mrr" AS "mrr",
  "t6"."plan" AS "plan"
FROM (
  SELECT
    "t4"."customer_id" AS "customer_id",
    "t4"."start_date" AS "start_date",
    CASE
      WHEN "t4"."last_month" < toDate('2026-06-01')
      THEN "t4"."last_month" + INTERVAL '1' MONTH
      ELSE NULL
    END AS "end_date",
    "t4"."mrr" AS "mrr"
  FROM (
    SELECT
      "t2"."customer_id" AS "customer_id",
      MIN("t2"."month") AS "start_date",
      MAX("t2"."month") AS "last_month",
      argMax(tuple("t2"."mrr"), "t2"."month").1 AS "mrr"
    FROM (
      SELECT
        *
      FROM "panel" AS "t0"
      WHERE
        "t0"."mrr" > 0
    ) AS "t2"
    GROUP BY
      "t2"."customer_id"
  ) AS "t4"
) AS "t8"
INNER JOIN (
  SELECT
    "t3"."customer_id_" AS "customer_id_",
    MIN("t3"."plan") AS "plan"
  FROM (
    SELECT
      "t1"."customer_id" AS "customer_id",
      "t1"."month" AS "month",
      "t1"."mrr" AS "mrr",
      "t1"."plan" AS "plan",
      CAST("t1"."customer_id" AS Nullable(String)) AS "customer_id_"
    FROM "analytics"."revenue" AS "t1"
  ) AS "t3"
  GROUP BY
    "t3"."customer_id_"
) AS "t6"
  ON "t8"."customer_id" = "t6"."customer_id_";

-- mrr_movements
WITH "t3" AS (
  SELECT
    "t2"."customer_id" AS "customer_id",
    "t2"."month" AS "month",
    "t2"."mrr" AS "mrr",
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
    "t9"."month" AS "month",
    SUM("t9"."mrr") AS "total",
    sumIf("t9"."mrr", (
      "t9"."prev_mrr" = 0
    ) AND (
      "t9"."month" = "t9"."first_month"
    )) AS "new",
    sumIf(
      "t9"."mrr" - "t9"."prev_mrr",
      (
        "t9"."prev_mrr" > 0
      ) AND (
        "t9"."mrr" > "t9"."prev_mrr"
      )
    ) AS "expansion",
    sumIf(
      "t9"."prev_mrr" - "t9"."mrr",
      (
        "t9"."prev_mrr" > 0
      )
      AND (
        "t9"."mrr" > 0
      )
      AND (
        "t9"."mrr" < "t9"."prev_mrr"
      )
    ) AS "contraction",
    sumIf("t9"."prev_mrr", (
      "t9"."prev_mrr" > 0
    ) AND (
      "t9"."mrr" = 0
    )) AS "churned",
    sumIf("t9"."mrr", (
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
          "t4"."customer_id" AS "customer_id",
          "t4"."first_month" AS "first_month",
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
    "t9"."month"
) AS "t10"
ORDER BY
  "t10"."month" ASC;

-- mrr_retention_window
SELECT
  SUM("t5"."s_mrr") AS "starting",
  SUM(LEAST("t5"."s_mrr", COALESCE("t5"."e_mrr", 0))) AS "kept",
  SUM(COALESCE("t5"."e_mrr", 0)) AS "ending",
  COALESCE(sumIf("t5"."s_mrr", COALESCE("t5"."e_mrr", 0) <= 0), 0) AS "lost"
FROM (
  SELECT
    "t3"."customer_id" AS "customer_id",
    "t3"."s_mrr" AS "s_mrr",
    "t4"."e_id" AS "e_id",
    "t4"."e_mrr" AS "e_mrr"
  FROM (
    SELECT
      "t0"."customer_id" AS "customer_id",
      "t0"."mrr" AS "s_mrr"
    FROM "panel" AS "t0"
    WHERE
      "t0"."month" = toDate('2025-06-01') AND "t0"."mrr" > 0
  ) AS "t3"
  LEFT OUTER JOIN (
    SELECT
      "t0"."customer_id" AS "e_id",
      "t0"."mrr" AS "e_mrr"
    FROM "panel" AS "t0"
    WHERE
      "t0"."month" = toDate('2026-06-01')
  ) AS "t4"
    ON "t3"."customer_id" = "t4"."e_id"
) AS "t5";
