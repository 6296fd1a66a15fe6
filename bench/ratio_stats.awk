# Reads one "a b" pair of throughputs per line (one line per round) and prints the median of the
# per-round ratios a/b with their min and max: a round's two sides ran back to back, so a swing
# of the machine hits both, and one bad round cannot move the median.
{ r[NR] = $1 / $2 }
END {
  n = NR
  if (n == 0) { print "no rounds"; exit 1 }
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
  median = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
  printf "median of %d per-round ratios %.3f (min %.3f, max %.3f)\n", n, median, r[1], r[n]
}
