/*
 * svg.h — a tiny writer of inline SVG (and escaped XML text) for the report.
 *
 * Every string goes through cx_xml_text(), which escapes markup characters
 * and replaces control characters and invalid UTF-8, so a label read from a
 * results file can never break the page or inject markup.  Coordinates
 * that are not finite are never written: the element is left out.
 * Styling is by CSS class (the report's style sheet) so charts follow the
 * page in print and on small screens.
 */
#ifndef CX_SVG_H
#define CX_SVG_H

#include <stdio.h>

/* Write `s` as XML character data / attribute value (quotes escaped too). */
void cx_xml_text(FILE *out, const char *s);

/* <svg viewBox="0 0 w h" role="img"> with a <title> (escaped). */
void svg_begin(FILE *out, double w, double h, const char *title);
void svg_end(FILE *out);

/* Shapes; `cls` is a CSS class (may be NULL); `fill` a colour like "#a1b2c3"
 * (may be NULL). */
void svg_rect(FILE *out, double x, double y, double w, double h, const char *cls, const char *fill);
void svg_line(FILE *out, double x1, double y1, double x2, double y2, const char *cls);
void svg_circle(FILE *out, double cx, double cy, double r, const char *cls);
void svg_ellipse(FILE *out, double cx, double cy, double rx, double ry, const char *cls);
/* A quadratic curve from (x1,y1) through control (qx,qy) to (x2,y2). */
void svg_curve(FILE *out, double x1, double y1, double qx, double qy, double x2, double y2,
               const char *cls);
/* Polyline (closed = polygon) through n points. */
void svg_poly(FILE *out, const double *x, const double *y, size_t n, int closed, const char *cls);

typedef enum svg_anchor { SVG_START, SVG_MIDDLE, SVG_END } svg_anchor;
/* Text at (x, y), escaped. */
void svg_text(FILE *out, double x, double y, svg_anchor anchor, const char *cls, const char *text);
/* A number as text ("%.*f"); nothing for NaN. */
void svg_number(FILE *out, double x, double y, svg_anchor anchor, const char *cls, double v,
                int decimals);
/* A tooltip for the element opened next: <g><title>..</title> ... svg_group_end. */
void svg_group_begin(FILE *out, const char *tooltip);
void svg_group_end(FILE *out);

/* "#rrggbb" on a diverging scale: -1 red, 0 white, +1 blue (clamped). */
void svg_diverging(double v, char colour[8]);
/* "#rrggbb" of an ordinal category k of n on a red-grey-blue scale. */
void svg_ordinal(size_t k, size_t n, char colour[8]);

#endif
