/*
 * svg.c — the report's SVG writer (see svg.h).
 */
#include "svg.h"

#include <math.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t utf8_length(const unsigned char *s)
{
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (s[0] >= 0xF8 || (s[0] >= 0x80 && s[0] < 0xC2))
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    /* overlong 3/4-byte forms, surrogates and code points past U+10FFFF */
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

void cx_xml_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        case '\t': case '\n': fputc(' ', out); break;
        default:
            if (*p < 0x20 || *p == 0x7F) {
                fputs("&#xFFFD;", out); /* not allowed in XML 1.0 */
            } else if (*p < 0x80) {
                fputc(*p, out);
            } else {
                size_t len = utf8_length(p);
                if (len == 0) {
                    fputs("&#xFFFD;", out);
                } else {
                    fwrite(p, 1, len, out);
                    p += len - 1;
                }
            }
        }
        p++;
    }
}

static int finite4(double a, double b, double c, double d)
{
    return isfinite(a) && isfinite(b) && isfinite(c) && isfinite(d);
}

static void class_attr(FILE *out, const char *cls)
{
    if (cls) {
        fputs(" class=\"", out);
        cx_xml_text(out, cls);
        fputc('"', out);
    }
}

void svg_begin(FILE *out, double w, double h, const char *title)
{
    /* a wide chart keeps a readable size on a phone and scrolls instead */
    fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\"%s role=\"img\" aria-label=\"", w,
            h, w, w > 720 ? " class=\"wide\"" : "");
    cx_xml_text(out, title);
    fputs("\"><title>", out);
    cx_xml_text(out, title);
    fputs("</title>\n", out);
}

void svg_end(FILE *out)
{
    fputs("</svg>\n", out);
}

void svg_rect(FILE *out, double x, double y, double w, double h, const char *cls, const char *fill)
{
    if (!finite4(x, y, w, h) || w < 0 || h < 0)
        return;
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x, y, w, h);
    class_attr(out, cls);
    if (fill) {
        fputs(" fill=\"", out);
        cx_xml_text(out, fill);
        fputc('"', out);
    }
    fputs("/>\n", out);
}

void svg_line(FILE *out, double x1, double y1, double x2, double y2, const char *cls)
{
    if (!finite4(x1, y1, x2, y2))
        return;
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", x1, y1, x2, y2);
    class_attr(out, cls);
    fputs("/>\n", out);
}

void svg_circle(FILE *out, double cx, double cy, double r, const char *cls)
{
    if (!finite4(cx, cy, r, 0))
        return;
    fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", cx, cy, r);
    class_attr(out, cls);
    fputs("/>\n", out);
}

void svg_ellipse(FILE *out, double cx, double cy, double rx, double ry, const char *cls)
{
    if (!finite4(cx, cy, rx, ry))
        return;
    fprintf(out, "<ellipse cx=\"%.1f\" cy=\"%.1f\" rx=\"%.1f\" ry=\"%.1f\"", cx, cy, rx, ry);
    class_attr(out, cls);
    fputs("/>\n", out);
}

void svg_curve(FILE *out, double x1, double y1, double qx, double qy, double x2, double y2,
               const char *cls)
{
    if (!finite4(x1, y1, qx, qy) || !finite4(x2, y2, 0, 0))
        return;
    fprintf(out, "<path d=\"M%.1f %.1fQ%.1f %.1f %.1f %.1f\"", x1, y1, qx, qy, x2, y2);
    class_attr(out, cls);
    fputs("/>\n", out);
}

void svg_poly(FILE *out, const double *x, const double *y, size_t n, int closed, const char *cls)
{
    size_t finite = 0;
    for (size_t i = 0; i < n; i++)
        finite += isfinite(x[i]) && isfinite(y[i]);
    if (finite < 2)
        return;
    fputs(closed ? "<polygon points=\"" : "<polyline points=\"", out);
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i]))
            fprintf(out, "%s%.1f,%.1f", i ? " " : "", x[i], y[i]);
    fputc('"', out);
    class_attr(out, cls);
    fputs("/>\n", out);
}

void svg_text(FILE *out, double x, double y, svg_anchor anchor, const char *cls, const char *text)
{
    static const char *const anchors[] = {"start", "middle", "end"};
    if (!finite4(x, y, 0, 0))
        return;
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchors[anchor]);
    class_attr(out, cls);
    fputc('>', out);
    cx_xml_text(out, text);
    fputs("</text>\n", out);
}

void svg_number(FILE *out, double x, double y, svg_anchor anchor, const char *cls, double v,
                int decimals)
{
    if (!isfinite(v))
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", decimals, v);
    svg_text(out, x, y, anchor, cls, buf);
}

void svg_group_begin(FILE *out, const char *tooltip)
{
    fputs("<g><title>", out);
    cx_xml_text(out, tooltip);
    fputs("</title>\n", out);
}

void svg_group_end(FILE *out)
{
    fputs("</g>\n", out);
}

static void mix(const int a[3], const int b[3], double t, char colour[8])
{
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (int)lround(a[k] + (b[k] - a[k]) * t);
    snprintf(colour, 8, "#%02x%02x%02x", c[0] & 255, c[1] & 255, c[2] & 255);
}

void svg_diverging(double v, char colour[8])
{
    static const int red[3] = {202, 0, 32}, white[3] = {247, 247, 247}, blue[3] = {5, 113, 176};
    if (!isfinite(v))
        v = 0;
    v = v < -1 ? -1 : v > 1 ? 1 : v;
    if (v < 0)
        mix(white, red, -v, colour);
    else
        mix(white, blue, v, colour);
}

void svg_ordinal(size_t k, size_t n, char colour[8])
{
    /* grey in the middle, so a middle category stays visible on white */
    static const int red[3] = {202, 0, 32}, grey[3] = {200, 200, 200}, blue[3] = {5, 113, 176};
    double t = n > 1 ? (double)k / (double)(n - 1) : 1.0;
    if (t < 0.5)
        mix(red, grey, 2 * t, colour);
    else
        mix(grey, blue, 2 * t - 1, colour);
}
