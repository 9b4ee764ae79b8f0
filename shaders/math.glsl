// erfc and tanh written out: GLSL has no erf, and some drivers' tanh overflows to NaN for large x.

// erfc with a relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit), so
// GELU's far negative tail, x/2 · erfc(-x/√2), keeps its relative precision.
float erfc_approx(float x) {
  float z = abs(x);
  float t = 1.0 / (1.0 + 0.5 * z);
  float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
            t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0.0 ? r : 2.0 - r;
}

// Φ(x), the standard normal CDF: GELU(x) = x · Φ(x).
float normal_cdf(float x) { return 0.5 * erfc_approx(-x * 0.70710678118654752); }

float tanh_safe(float x) {
  float t = exp(-2.0 * abs(x));
  float r = (1.0 - t) / (1.0 + t);
  return x < 0.0 ? -r : r;
}
