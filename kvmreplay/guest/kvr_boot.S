/* kvr_boot: multiboot (v1) entry of the replay guest.
 *
 * The loader (QEMU's multiboot option ROM) enters in 32-bit protected mode
 * with paging off, eax = 0x2BADB002 and ebx = the multiboot info. The GDT it
 * leaves may not survive, so we load our own flat 4 GiB code and data
 * segments, keep interrupts off (the guest polls everything), set up the
 * stack and call kvr_guest_main(magic, info). */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory map */

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .section .text
        .globl _start
        .type _start, @function
_start:
        cli
        cld
        lgdt gdt_desc
        ljmp $0x08, $1f
1:      movw $0x10, %cx
        movw %cx, %ds
        movw %cx, %es
        movw %cx, %fs
        movw %cx, %gs
        movw %cx, %ss
        movl $kvr_stack_top, %esp
        pushl %ebx
        pushl %eax
        call kvr_guest_main
2:      cli
        hlt
        jmp 2b

/* Interrupt entry points (the IDT is built in C). The timer wakes the
 * guest from hlt: acknowledge it at the local APIC and return. Anything
 * else that arrives unexpectedly from the APIC is ignored; a CPU exception
 * is fatal and reported by kvr_guest_fault(). */
        .globl kvr_isr_timer
        .type kvr_isr_timer, @function
kvr_isr_timer:
        movl $0, 0xfee000b0 /* EOI */
        iret

        .globl kvr_isr_ignore
        .type kvr_isr_ignore, @function
kvr_isr_ignore:
        iret

        .globl kvr_isr_fault
        .type kvr_isr_fault, @function
kvr_isr_fault:
        cli
        call kvr_guest_fault
3:      hlt
        jmp 3b

        .section .rodata
        .balign 8
gdt:
        .quad 0x0000000000000000 /* null */
        .quad 0x00cf9a000000ffff /* 0x08: code, base 0, limit 4 GiB, 32-bit */
        .quad 0x00cf92000000ffff /* 0x10: data, base 0, limit 4 GiB */
gdt_end:
gdt_desc:
        .word gdt_end - gdt - 1
        .long gdt

        .section .bss
        .balign 16
kvr_stack:
        .skip 16384
kvr_stack_top:

        .section .note.GNU-stack, "", @progbits
