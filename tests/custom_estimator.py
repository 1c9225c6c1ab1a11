"""A user-defined estimator: skops does not trust its type until the policy says so."""

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression


class ShiftedRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y):
        self.model_ = LinearRegression().fit(X, y)
        self.feature_names_in_ = self.model_.feature_names_in_
        self.n_features_in_ = self.model_.n_features_in_
        return self

    def predict(self, X):
        return self.model_.predict(X) + self.shift
