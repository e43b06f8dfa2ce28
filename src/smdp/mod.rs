//! SM-DP+ domain (SGP.22 v2.5): profile states; orders and download sessions follow.
