/* Template of fops.h: the fop table's numbers and the per-fop declarations the
 * bridge's C files share (expanded by glupy/_build/codegen.py, see fops-tmpl.c).
 * Included by glupy.h. */
#ifndef GLUPY_FOPS_H
#define GLUPY_FOPS_H

/* struct xlator_fops slots (fops and placeholders) */
#define GLUPY_NUM_SLOTS @NUM_SLOTS@

/* the virtual xattr glupy status reads from every glupy translator (glupy.runtime.procstatus) */
#define GLUPY_STATUS_XATTR "@STATUS_XATTR@"

/* the glupy.types view classes glupy.runtime.driver hands over, in this order, and
   the pointer type (GLUPY_CT_*) of each */
#define GLUPY_NUM_VIEWS @NUM_VIEWS@
/* @FOR_EACH view@ */
#define GLUPY_V_@VIEW@ @INDEX@
#define GLUPY_V_@VIEW@_CT @CT@
/* @END@ */

/* the C pointer types convert.c makes cdata of, in G.ctypes order */
#define GLUPY_NUM_CTYPES @NUM_CTYPES@
/* @FOR_EACH ctype@ */
#define GLUPY_CT_@CTYPE@ @INDEX@
/* @END@ */

/* STACK_UNWIND of each fop (fops-tmpl.c): also called by glupy.runtime.driver through cffi */
/* @FOR_EACH fop@ */
void glupy_unwind_@FOP@(call_frame_t *frame, int32_t op_ret, int32_t op_errno@REPLY_DECLS@);
/* @END@ */

/* the cbks, implemented in Python (glupy.runtime.driver, cffi extern "Python+C") */
/* @FOR_EACH any_cbk@ */
@CBK_RET@ glupy_py_cbk_@CBK@(xlator_t *this@CBK_DECLS@);
/* @END@ */

/* the cbks a translator class defines, by name (glupy.runtime.driver sets them) */
struct glupy_cbks_wanted {
    /* @FOR_EACH cbk@ */
    unsigned char @CBK@;
    /* @END@ */
};
int glupy_install_cbks(xlator_t *this, const struct glupy_cbks_wanted *wanted);

#endif
