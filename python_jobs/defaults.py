"""Default settings of the splits, the ALS seed's grid and the recommenders: the one place.

The dbt vars in ``dbt_project.yml`` carry the same values for dbt runs;
``tests/python_jobs/test_defaults.py`` keeps the two equal. Library functions take these
as keyword defaults, ``train_als`` as its command-line defaults.
"""

# The evaluation protocol: "stratified" (per-user 75/25, as Microsoft Recommenders
# publishes) or "seed" (the ALS seed's 60/20/20 randomSplit).
EVALUATION_PROTOCOL = "stratified"
PROTOCOLS = ("stratified", "seed")
STRATIFIED_TRAIN_SHARE = 0.75
# Share of each user's training part held out for validation (python_jobs.splitting: why 0.1).
STRATIFIED_VALIDATION_SHARE = 0.1
STRATIFIED_SEED = 42
# Validation carvings of each user's training part (python_jobs.splitting): the recommenders
# are compared on each, so that one draw of validation does not decide what is served.
VALIDATION_CARVINGS = 3
SEED_SPLIT_WEIGHTS = (0.6, 0.2, 0.2)
SEED = 0

TOP_N = 10

# The ALS seed's explicit-rating grid.
ALS_RANKS = (6, 8, 10, 12)
ALS_REG_PARAMS = (0.05, 0.1, 0.2, 0.4, 0.8)
ALS_MAX_ITER = 10
# ALS blocks: 1 suits ~100k ratings on 2 cores; the grid and the saved model use the same.
ALS_NUM_BLOCKS = 1

# Implicit-feedback ALS, tuned for ranking (validation NDCG@k).
IMPLICIT_RANKS = (32, 64)
IMPLICIT_REG_PARAMS = (1.0,)
IMPLICIT_ALPHAS = (2.0, 5.0)
IMPLICIT_MAX_ITER = 10

# EASE (Steck, WWW 2019): the L2 penalty grid, and the movie cap of the dense inverse.
EASE_LAMBDAS = (100.0, 250.0, 500.0, 1000.0, 2000.0)
EASE_MAX_MOVIES = 6000

# Item-kNN (SQL): neighbours per candidate movie, and the co-rater floor of a pair.
KNN_NEIGHBOURS = (20, 50, 100)
KNN_MIN_CO_RATERS = (2, 5)

# The metric curves reach this k; test-time lists are this deep.
METRIC_CURVE_MAX_K = 20

# Validation users of a recommender's tuning and validation lists, at most (a seeded sample
# beyond it: python_jobs.scopes), and the depth of the lists the blend fuses.
TUNING_MAX_USERS = 10000
BLEND_DEPTH = 50
