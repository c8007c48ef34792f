"""Column names shared by the dbt models and the Python jobs: the one place that knows them.

Ids stay integers (Spark ML's ALS needs integer ids), a documented exception to the
"keys are strings" convention.
"""

USER_ID = "user_id"
MOVIE_ID = "movie_id"
RATING = "rating"
RATED_AT = "rated_at"
TITLE = "title"
PREDICTION = "prediction"
RANK = "recommendation_rank"
SCORE = "score"
SPLIT = "split"
PURPOSE = "purpose"
RECOMMENDER = "recommender"
