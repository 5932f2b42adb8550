using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Passthrough.Shell;

namespace Passthrough.Tests.Shell;

public class ShellWordsTests
{
    [TestCase("", "''")]
    [TestCase("two words", "'two words'")]
    [TestCase("it's", "'it'\\''s'")]
    [TestCase("$HOME", "'$HOME'")]
    [TestCase("a\nb", "'a\nb'")]
    [TestCase("/usr/local/bin/passthrough", "'/usr/local/bin/passthrough'")]
    public void A_quoted_word_is_single_quoted_with_each_quote_closed_escaped_and_reopened(string value, string quoted)
    {
        Assert.That(ShellWords.Quote(value), Is.EqualTo(quoted));
    }

    [TestCase("vfio-pci.ids=10de:2684,10de:22ba", "vfio-pci.ids=10de:2684,10de:22ba")]
    [TestCase("/boot/grub2/grub.cfg", "/boot/grub2/grub.cfg")]
    [TestCase("user@host", "user@host")]
    [TestCase("", "''")]
    [TestCase("two words", "'two words'")]
    [TestCase("it's", "'it'\\''s'")]
    [TestCase("$HOME", "'$HOME'")]
    [TestCase("~", "'~'")]
    [TestCase("*.rom", "'*.rom'")]
    [TestCase("a\nb", "'a\nb'")]
    public void A_word_is_left_bare_only_when_nothing_in_it_is_special_to_the_shell(string value, string shown)
    {
        Assert.That(ShellWords.QuoteIfNeeded(value), Is.EqualTo(shown));
    }

    [Test]
    public void I_see_a_command_as_I_would_type_it()
    {
        var line = ShellWords.CommandLine("qemu-img", ["create", "-f", "qcow2", "/var/lib/libvirt/images/my vm.qcow2", "120G"]);

        Assert.That(line, Is.EqualTo("qemu-img create -f qcow2 '/var/lib/libvirt/images/my vm.qcow2' 120G"));
    }

    [TestCase("''", "")]
    [TestCase("'it'\\''s'", "it's")]
    [TestCase("plain", "plain")]
    [TestCase("'/opt/my tools/passthrough'", "/opt/my tools/passthrough")]
    public void A_quoted_word_reads_back_as_its_value(string word, string value)
    {
        Assert.That(ShellWords.Unquote(word), Is.EqualTo(value));
    }

    [Test]
    public void Any_string_survives_quoting_and_reading_back()
    {
        var text = Gen.ArrayOf(Gen.Elements('a', ' ', '\'', '\\', '$', '\n', '"', '`', '*', 'é')).Select(cs => new string(cs));

        Prop.ForAll(Arb.From(text), s => ShellWords.Unquote(ShellWords.Quote(s)) == s && ShellWords.Unquote(ShellWords.QuoteIfNeeded(s)) == s)
            .QuickCheckThrowOnFailure();
    }
}
